"""The VIP page's rules (add, change, remove, each refusal next to its form) and its analytics
(server-drawn SVG charts with the numbers beside them, for 7, 30 or 90 days)."""

from __future__ import annotations

import re

import pytest

from core.events import Platform
from core.features.vip.rules import RuleAsked
from core.features.vip.service import VipService
from core.web.dashboard.aio import coroutine_runner
from tests.features.vip.doubles import BROADCASTER, T0, FakeVipChannel
from tests.support.clock import Clock
from tests.web.dashboard.test_vip_page import (  # noqa: F401 - fixtures
    GUILD,
    OTHER,
    _post,
    client,
    discord,
)

SCOPES = ("bits:read", "channel:read:subscriptions")


@pytest.fixture
def vip(engine):  # type: ignore[no-untyped-def]
    clock = Clock(T0)
    twitch = FakeVipChannel(clock)
    twitch.users.update({"viewer1": "9001"})
    service = VipService(
        engine,
        clock,
        twitch,
        lambda guild_id: BROADCASTER if guild_id == GUILD else None,
        granted_scopes=lambda guild_id: SCOPES,
    )
    return service, twitch, coroutine_runner()


def test_rules_are_added_changed_and_removed_from_the_page(client, vip) -> None:  # noqa: F811
    service, twitch, run = vip
    added = _post(client, "rules", platform="twitch", when="bits", at_least="500", hours="24")
    assert added.status_code == 302
    reward = _post(
        client,
        "rules",
        platform="twitch",
        when="reward",
        title="VIP 1 week",
        cost="25000",
        hours="168",
    )
    assert reward.status_code == 302
    page = client.get(reward.headers["Location"])
    assert (
        "Rule 2 added: the reward &#39;VIP 1 week&#39; (25,000 points) gives 168 hour(s)"
        in page.text
    )
    assert "a cheer of at least 500 bits gives <strong>24</strong> hour(s)" in page.text
    [made] = [r for r in twitch.rewards.values() if r.title == "VIP 1 week"]
    assert made.cost == 25000

    assert _post(client, "rules/2/change", hours="100", cost="30000").status_code == 302
    [cheer, week] = run(service.rules.list(GUILD))
    assert (week.hours, week.reward_cost) == (100, 30000)
    assert [r.cost for r in twitch.rewards.values() if r.title == "VIP 1 week"] == [30000]

    assert _post(client, f"rules/{cheer.id}/remove").status_code == 302
    assert [r.id for r in run(service.rules.list(GUILD))] == [week.id]
    gone = _post(client, f"rules/{week.id}/remove")
    assert (
        f"Rule {week.id} removed (the reward &#39;VIP 1 week&#39; (30,000 points)); its reward "
        "will be deleted on Twitch; the VIPs it granted still expire."
    ) in client.get(gone.headers["Location"]).text
    assert run(service.rules.list(GUILD)) == []


@pytest.mark.parametrize(
    ("path", "form", "error_id", "words"),
    [
        (
            "rules",
            {"platform": "twitch", "when": "bits", "hours": "24"},
            "rule-add",
            "--at-least N bits",
        ),
        (
            "rules",
            {"platform": "kick", "when": "bits", "at_least": "5", "hours": "1"},
            "rule-add",
            "Bits are Twitch",
        ),
        (
            "rules",
            {"platform": "mixer", "when": "bits", "hours": "1"},
            "rule-add",
            "Pick Twitch or Kick.",
        ),
        (
            "rules",
            {"platform": "twitch", "when": "sub", "tier": "9", "hours": "1"},
            "rule-add",
            "--tier 1, 2 or 3",
        ),
        (
            "rules",
            {"platform": "twitch", "when": "gift", "at_least": "5", "hours": "0"},
            "rule-add",
            "Hours go from 1",
        ),
        ("rules/99/remove", {}, "rules", "no VIP rule 99"),
        ("rules/99/change", {"hours": "5"}, "rules", "no VIP rule 99"),  # removed in another tab
    ],
)
def test_a_refused_rule_is_told_next_to_its_form(client, path, form, error_id, words) -> None:  # noqa: F811
    answer = _post(client, path, **form)
    assert answer.status_code == 400
    shown = re.search(
        rf'<p class="field-error" id="{error_id}-error" role="alert">([^<]*)</p>', answer.text
    )
    assert shown is not None
    assert words in shown.group(1).replace("&#39;", "'")


def test_the_analytics_are_charts_with_their_numbers(client, vip) -> None:  # noqa: F811
    service, _twitch, run = vip
    run(service.setup(GUILD, 1, "VIP for a day", 500, 24))
    run(service.manual.grant(GUILD, 1, "viewer1", 5))
    for days in ("7", "30", "90"):
        page = client.get(f"/dashboard/{GUILD}/vip/?days={days}")
        assert page.status_code == 200
        assert f"Analytics, last {days} days" in page.text
        assert '<svg class="svg-chart" id="chart-active" role="img"' in page.text
        assert f'<strong aria-current="page">{days} days</strong>' in page.text
    assert '<svg class="svg-chart" id="chart-rule"' in page.text
    assert "1 grant(s) and extension(s), 5.0 hours of VIP" in page.text
    assert '<th scope="row" class="name">by hand</th><td>1</td>' in page.text
    assert "<script>" not in page.text


def test_another_servers_rule_is_neither_changed_nor_removed_from_this_page(client, vip) -> None:  # noqa: F811
    service, _twitch, run = vip
    asked = RuleAsked(platform=Platform.TWITCH, when="bits", hours=5, at_least=500)
    theirs = run(service.rules.add(OTHER, asked))
    for path, form in (
        (f"rules/{theirs.id}/change", {"hours": "99"}),
        (f"rules/{theirs.id}/remove", {}),
    ):
        answer = _post(client, path, **form)
        assert answer.status_code == 400
        assert f"This server has no VIP rule {theirs.id}" in answer.text
    assert run(service.rules.list(OTHER)) == [theirs]


def test_a_rule_whose_reward_was_deleted_on_twitch_tv_says_so_and_is_made_again(
    client,  # noqa: F811
    vip,
) -> None:
    """The streamer deleted the reward on twitch.tv: after the 10-minute read the rule says
    why in plain words, with "Make the reward again"; pressing it makes the reward on Twitch
    and the rule is fine again. The server's other rule says nothing of it."""
    service, twitch, run = vip
    day = run(service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "reward", 24, None, "Day", 500)))
    cheer = run(service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "bits", 5, at_least=100)))
    del twitch.rewards[day.reward_id]  # deleted on twitch.tv
    run(service.drain_missed())

    page = client.get(f"/dashboard/{GUILD}/vip/")
    problem = re.search(rf'<li id="rule-{day.id}">.*?</li>', page.text, re.S)
    assert problem is not None
    assert (
        "<strong>Broken:</strong> Its reward was deleted on twitch.tv: viewers cannot redeem "
        "it. Remove this rule, or make its reward again." in problem.group(0)
    )
    assert f"Make the reward again (rule {day.id})" in problem.group(0)
    other = re.search(rf'<li id="rule-{cheer.id}">.*?</li>', page.text, re.S)
    assert other is not None
    assert "Broken" not in other.group(0)
    assert "Make the reward again" not in other.group(0)

    made = _post(client, f"rules/{day.id}/make-reward")
    assert made.status_code == 302
    page = client.get(made.headers["Location"])
    assert f"Rule {day.id}&#39;s reward was made again on Twitch" in page.text
    assert "Broken" not in page.text
    [again] = [r for r in run(service.rules.list(GUILD)) if r.id == day.id]
    assert again.reward_id in twitch.rewards
    assert twitch.rewards[again.reward_id].title == "Day"

    refused = _post(client, f"rules/{day.id}/make-reward")  # a second press, in another tab
    assert refused.status_code == 400
    assert "is not known to be deleted on Twitch" in refused.text


def test_removing_a_rule_whose_reward_is_gone_does_not_promise_a_deletion(client, vip) -> None:  # noqa: F811
    service, twitch, run = vip
    day = run(service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "reward", 24, None, "Day", 500)))
    del twitch.rewards[day.reward_id]
    run(service.drain_missed())

    gone = _post(client, f"rules/{day.id}/remove")

    text = client.get(gone.headers["Location"]).text
    assert f"Rule {day.id} removed (the reward &#39;Day&#39; (500 points))" in text
    assert "will be deleted on Twitch" not in text
    assert run(service.rules.list(GUILD)) == []


def test_the_top_viewers_chart_names_the_platform_as_the_table_does(client, vip) -> None:  # noqa: F811
    """A long name is cut in the chart, never its platform, which is "Twitch" as in the table."""
    service, twitch, run = vip
    long_name = "averyveryverylongviewer25"  # Twitch allows 25 characters
    twitch.users.update({long_name: "9002"})
    run(service.setup(GUILD, 1, "VIP for a day", 500, 24))
    run(service.manual.grant(GUILD, 1, "viewer1", 5))
    run(service.manual.grant(GUILD, 1, long_name, 3))
    page = client.get(f"/dashboard/{GUILD}/vip/")
    assert page.status_code == 200
    chart = page.text.split('id="chart-top"')[1].split("</svg>")[0]
    labels = re.findall(r'text-anchor="end">([^<]*)</text>', chart)
    assert labels[0] == "viewer1 (Twitch)"
    assert labels[1].endswith(" (Twitch)")
    assert labels[1].startswith("averyvery")
    assert "(twitch)" not in chart


def test_the_vips_by_day_chart_says_its_days_are_utc_days(client, vip) -> None:  # noqa: F811
    """A day ends at midnight UTC, not the streamer's midnight: the chart and its table say so."""
    service, _twitch, run = vip
    run(service.setup(GUILD, 1, "VIP for a day", 500, 24))
    run(service.manual.grant(GUILD, 1, "viewer1", 5))
    page = client.get(f"/dashboard/{GUILD}/vip/?days=7")
    assert page.status_code == 200
    chart = page.text.split('id="chart-active"')[1].split("</svg>")[0]
    title = re.search(r"<title[^>]*>([^<]*)</title>", chart)
    assert title is not None
    assert "UTC" in title.group(1)
    assert "VIPs held at the end of each day (UTC)" in page.text  # the table
    assert "VIPs held at the end of each day, days in UTC</figcaption>" in page.text


def test_a_refused_change_shows_what_the_admin_typed(client, vip) -> None:  # noqa: F811
    """A rule row's change refused (0 hours, a cost out of bounds) comes back with the hours and
    cost the admin typed in its fields, not the saved ones, so they can correct them."""
    service, _twitch, run = vip
    run(service.rules.add(GUILD, RuleAsked(Platform.TWITCH, "reward", 24, title="VIP", cost=500)))
    [rule] = run(service.rules.list(GUILD))
    answer = _post(client, f"rules/{rule.id}/change", hours="0", cost="777")
    assert answer.status_code == 400
    assert f'id="rule-{rule.id}-error"' in answer.text
    hours = re.search(rf'<input id="rule-{rule.id}-hours"[^>]*value="([^"]*)"', answer.text)
    cost = re.search(rf'<input id="rule-{rule.id}-cost"[^>]*value="([^"]*)"', answer.text)
    assert hours is not None
    assert cost is not None
    assert (hours.group(1), cost.group(1)) == ("0", "777")
    [saved] = run(service.rules.list(GUILD))
    assert (saved.hours, saved.reward_cost) == (24, 500)
