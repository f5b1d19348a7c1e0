"""The VIP reward's prompt and limits on the VIP page: set when creating the reward and changed
later, an empty box is no limit, and every bad value is refused next to its form with 400."""

from __future__ import annotations

import re

import pytest

from core.features.vip.limits import DEFAULT_PROMPT, RewardLimits
from tests.web.dashboard import test_vip_page as vip_page

GUILD = vip_page.GUILD
discord, vip, client = vip_page.discord, vip_page.vip, vip_page.client
_post = vip_page._post

FULL = {"prompt": "Be nice!", "max_per_stream": "3", "max_per_user_per_stream": "1"}


def test_limits_are_changed_from_the_page(client, vip):
    _service, twitch, _run = vip
    page = client.get(f"/dashboard/{GUILD}/vip/")
    assert "Now: no limits." in page.text
    assert DEFAULT_PROMPT in page.text  # the prompt box holds what Twitch has

    done = _post(client, "limits", **FULL, cooldown_seconds="300")
    assert done.status_code == 302
    (reward_id,) = twitch.rewards
    assert twitch.limits[reward_id] == RewardLimits("Be nice!", 3, 1, 300)
    page = client.get(done.headers["Location"]).text
    assert "now has at most 3 per stream, 1 per viewer per stream, 5 min apart." in page
    assert "Now: at most 3 per stream, 1 per viewer per stream, 5 min apart." in page
    assert 'name="cooldown_seconds" inputmode="numeric" pattern="[0-9]*" value="300"' in page

    assert _post(client, "limits", prompt="", cooldown_seconds=" ").status_code == 302
    assert twitch.limits[reward_id] == RewardLimits("")


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"prompt": "x" * 201}, "The prompt has at most 200 characters (this one has 201)."),
        ({"max_per_stream": "0"}, "Redemptions per stream go from 1 to 1,000,000"),
        ({"max_per_stream": "lots"}, "Redemptions per stream is a whole number."),
        ({"max_per_user_per_stream": "0"}, "Redemptions per viewer per stream go from 1"),
        ({"max_per_user_per_stream": "-2"}, "Redemptions per viewer per stream is a whole"),
        ({"cooldown_seconds": "0"}, "The cooldown goes from 1 second to 604,800 seconds (7 days)"),
        ({"cooldown_seconds": "604801"}, "The cooldown goes from 1 second to 604,800 seconds"),
        ({"cooldown_seconds": "5 min"}, "The cooldown is a whole number."),
        ({"cooldown_seconds": "9" * 12}, "The cooldown"),
    ],
)
def test_bad_limits_are_refused_next_to_the_form(client, vip, form, words):
    _service, twitch, _run = vip
    (reward_id,) = twitch.rewards
    before = twitch.limits[reward_id]

    answer = _post(client, "limits", **form)

    assert answer.status_code == 400
    shown = re.search(
        r'<p class="field-error" id="limits-error" role="alert">([^<]*)</p>', answer.text
    )
    assert shown is not None
    assert words in shown.group(1).replace("&#39;", "'")
    assert twitch.limits[reward_id] == before
    # what was typed stays in the boxes, to be fixed
    for name, value in form.items():
        assert value[:50] in answer.text, name


def test_the_reward_is_created_with_its_limits(client, vip):
    service, twitch, run = vip
    run(service.change_reward(GUILD, "delete"))  # gone from Twitch once the worker runs
    before = dict(twitch.rewards)

    refused = _post(
        client, "setup", title="VIP", cost="100", hours="12", **FULL, cooldown_seconds="0"
    )
    assert refused.status_code == 400
    assert "The cooldown goes from 1 second" in refused.text
    assert twitch.rewards == before  # none made

    created = _post(
        client, "setup", title="VIP", cost="100", hours="12", **FULL, cooldown_seconds="3600"
    )
    assert created.status_code == 302
    reward_id = run(service.settings(GUILD)).reward_id
    assert twitch.limits[reward_id] == RewardLimits("Be nice!", 3, 1, 3600)
    page = client.get(created.headers["Location"]).text
    assert "12 hour(s) of VIP, at most 3 per stream, 1 per viewer per stream, 1 h apart." in page


def test_limits_without_a_reward_are_refused(client, vip):
    service, _twitch, run = vip
    run(service.change_reward(GUILD, "delete"))
    answer = _post(client, "limits", **FULL)
    assert answer.status_code == 400
    shown = re.search(r'id="limits-error" role="alert">([^<]*)</p>', answer.text)
    assert shown is not None
    assert "There is no VIP reward yet" in shown.group(1)
