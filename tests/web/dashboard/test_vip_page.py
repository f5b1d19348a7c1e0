"""The temporary VIP page: the list, grant / extend / revoke with the dashboard user as actor
(the calls ``!vip`` makes), refusals next to their form with 400, the reward and settings, the
audit log's filters, another guild's id 403, a POST without the CSRF token 403."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask

from core.events import Platform, Viewer, VipAdded
from core.features.live.backends import MemoryLive
from core.features.vip import redemptions_repository
from core.features.vip.service import VipService
from core.storage.db import transaction
from core.web.dashboard import register
from core.web.dashboard.aio import coroutine_runner
from core.web.dashboard.config import DashboardConfig
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth
from tests.features.vip.doubles import BROADCASTER, T0, FakeVipChannel, redemption
from tests.support.clock import Clock
from tests.web.dashboard.test_security import PUBLIC, _consent

GUILD = 111111111111111111
OTHER = 222222222222222222
NOTICES = 333333333333333333  # a channel of GUILD
OTHERS_CHANNEL = 444444444444444444  # a channel of OTHER
USER = 900000000000000001


@pytest.fixture
def discord():
    with FakeDiscordOAuth() as fake:
        user = fake.add_user(USER, "ana").member_of(GUILD, "Managed", MANAGE_GUILD)
        user.member_of(OTHER, "Not mine", 0)
        fake.sign_in_as(user)
        yield fake


@pytest.fixture
def vip(engine):
    clock = Clock(T0)
    twitch = FakeVipChannel(clock)
    twitch.users.update({"viewer1": "9001", "viewer2": "9002"})
    service = VipService(
        engine, clock, twitch, lambda guild_id: BROADCASTER if guild_id == GUILD else None
    )
    run = coroutine_runner()
    run(service.setup(GUILD, USER, "VIP for a day", 500, 24))
    return service, twitch, run


@pytest.fixture
def client(discord, vip):
    service, _twitch, run = vip
    config = DashboardConfig(
        secret="test-secret",
        public_url=PUBLIC,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=discord.api_base_url,
        oauth_base_url=discord.oauth_base_url,
        bot_guild_ids=lambda: [GUILD, OTHER],
        live_backend=MemoryLive(),
        run=run,
        vip=service,
        guild_channel_ids={GUILD: frozenset({NOTICES}), OTHER: frozenset({OTHERS_CHANNEL})}.get,
    )
    app = Flask(__name__)
    register(app, config)
    with app.test_client() as client:
        client.get("/dashboard/callback", query_string=_consent(client, discord))
        yield client


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/dashboard/{GUILD}/vip/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _post(client, path, **form):  # type: ignore[no-untyped-def]
    form.setdefault("csrf_token", _csrf(client))
    return client.post(f"/dashboard/{GUILD}/vip/{path}", data=form)


def test_grant_extend_revoke_as_the_dashboard_user(client, vip):
    service, twitch, run = vip
    page = client.get(f"/dashboard/{GUILD}/vip/")
    assert page.status_code == 200
    assert "Nobody is a temporary VIP" in page.text
    assert f"/dashboard/{GUILD}/live/vip" in page.text  # the list is live
    assert "<script>" not in page.text  # scripts are files (CSP script-src 'self')

    done = _post(client, "grant", login="@Viewer1", hours="5")
    assert done.status_code == 302
    assert "9001" in twitch.vips
    page = client.get(done.headers["Location"])
    assert "viewer1 is a vip until" in page.text.lower()
    assert 'class="countdown"' in page.text
    assert client.get(f"/dashboard/{GUILD}/vip/list").text.count("<tr data-user") == 1

    assert _post(client, "extend", login="viewer1", hours="3").status_code == 302
    (grant,) = run(service.list_vips(GUILD))
    assert (grant.expires_at - grant.granted_at).total_seconds() == 8 * 3600

    assert _post(client, "revoke", login="viewer1").status_code == 302
    assert run(service.list_vips(GUILD)) == []
    assert "9001" not in twitch.vips
    entries = run(service.log(GUILD))
    assert [e.action for e in entries] == ["removed", "extended", "granted"]
    assert {e.actor_id for e in entries} == {str(USER)}


@pytest.mark.parametrize(
    ("path", "form", "words"),
    [
        ("grant", {"login": "nobody", "hours": "5"}, "Twitch knows no user called"),
        ("grant", {"login": "viewer1", "hours": "lots"}, "Hours is a whole number."),
        ("grant", {"login": "viewer1", "hours": "0"}, "Hours go from 1 to"),
        ("grant", {"login": "  ", "hours": "5"}, "Name the Twitch viewer."),
        ("extend", {"login": "viewer2", "hours": "5"}, "is not a VIP StreamKeeper knows of"),
        ("revoke", {"login": "viewer2"}, "is not a VIP StreamKeeper knows of"),
        ("reward", {"what": "explode"}, "Change the reward"),
        ("reward", {"what": "cost", "value": "-3"}, "A cost goes from 1 to"),
        ("reward", {"what": "cost", "value": "lots"}, "is not a whole number"),
        ("settings", {"max_hours": "x"}, "The stacking cap is a whole number."),
        ("settings", {"max_hours": "24", "max_concurrent": "1000"}, "The most temporary VIPs"),
    ],
)
def test_refusals_are_shown_next_to_their_form(client, path, form, words):
    answer = _post(client, path, **form)
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"
    field = rf'<p class="field-error" id="{path}-error" role="alert">([^<]*)</p>'
    shown = re.search(field, answer.text)
    assert shown is not None
    assert words in shown.group(1).replace("&#39;", "'")


def test_the_success_notice_is_what_was_just_done_never_words_from_the_address(client, vip):
    """A link to the page cannot put its own words in the green notice; the notice of a change
    is shown once, after its redirect, and a reload does not say it again."""
    spoof = "Your Twitch connection expired. Sign in again at https://evil.example/sk."
    page = client.get(f"/dashboard/{GUILD}/vip/", query_string={"done": spoof})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    done = _post(client, "grant", login="viewer1", hours="5")
    assert done.status_code == 302
    assert "evil" not in done.headers["Location"]
    notice = '<p class="ok" role="status">viewer1 is a VIP until'
    assert notice in client.get(done.headers["Location"]).text
    assert notice not in client.get(done.headers["Location"]).text


def test_twitch_refusing_a_grant_is_a_400_not_a_500(client, vip):
    _service, twitch, _run = vip
    twitch.slots = 0
    answer = _post(client, "grant", login="viewer2", hours="5")
    assert answer.status_code == 400
    assert 'id="grant-error"' in answer.text


def test_reward_and_settings_go_through_the_service(client, vip):
    service, _twitch, run = vip
    assert _post(client, "reward", what="cost", value="750").status_code == 302
    assert run(service.settings(GUILD)).reward_cost == 750
    form = {
        "is_stacking": "on",
        "max_hours": "48",
        "max_concurrent": "",
        "notice_channel_id": str(NOTICES),
    }
    assert _post(client, "settings", **form).status_code == 302
    settings = run(service.settings(GUILD))
    assert settings.is_stacking
    assert not settings.is_chat_notices  # an unticked box is off
    assert settings.max_hours == 48
    assert settings.max_concurrent is None
    assert settings.notice_channel_id == NOTICES


@pytest.mark.parametrize(
    ("channel", "refusal"),
    [
        (str(OTHERS_CHANNEL), "That channel is not in this server."),  # another guild's
        ("555555555555555555", "That channel is not in this server."),
        ("5001", "takes a Discord id"),
    ],
)
def test_a_notice_channel_must_be_this_servers(client, vip, channel, refusal):
    service, _twitch, run = vip
    form = {"max_hours": "48", "notice_channel_id": channel}
    answer = _post(client, "settings", **form)
    assert answer.status_code == 400
    assert refusal in answer.text.replace("&#39;", "'")
    assert run(service.settings(GUILD)).notice_channel_id is None


def test_a_notice_channel_the_picker_cannot_offer_is_kept_by_a_save_of_the_rest(client, vip):
    """A channel saved by !vip set channel that the page cannot name now (the server not
    described yet, or the bot lost it): the form shows it kept, and saving the cap keeps it."""
    service, _twitch, run = vip
    run(service.update_settings(GUILD, notice_channel_id=NOTICES + 1))
    page = client.get(f"/dashboard/{GUILD}/vip/")
    assert f'value="{NOTICES + 1}"' in page.text

    answer = _post(client, "settings", max_hours="36", notice_channel_id=str(NOTICES + 1))

    assert answer.status_code == 302
    settings = run(service.settings(GUILD))
    assert (settings.max_hours, settings.notice_channel_id) == (36, NOTICES + 1)
    assert _post(client, "settings", max_hours="36", notice_channel_id="").status_code == 302
    assert run(service.settings(GUILD)).notice_channel_id is None  # emptied on purpose


def test_audit_log_filters(client, vip):
    _post(client, "grant", login="viewer1", hours="5")
    _post(client, "grant", login="viewer2", hours="5")
    _post(client, "revoke", login="viewer2")
    log = lambda **q: client.get(f"/dashboard/{GUILD}/vip/log", query_string=q)  # noqa: E731
    assert log().text.count("<tr>\n  <td>") == 3
    assert log(viewer="viewer2").text.count("<tr>\n  <td>") == 2
    assert log(action="granted").text.count("<tr>\n  <td>") == 2
    assert log(action="removed", viewer="viewer2").text.count("<tr>\n  <td>") == 1
    assert log(on=T0.strftime("%Y-%m-%d")).text.count("<tr>\n  <td>") == 3
    assert log(on="2020-01-01").text.count("<tr>\n  <td>") == 0
    assert log(on="yesterday").status_code == 400
    page = client.get(f"/dashboard/{GUILD}/vip/", query_string={"action": "explode"})
    assert page.status_code == 400
    assert 'id="filters-error"' in page.text


def test_another_guild_and_a_missing_csrf_token_are_403(client, vip):
    _service, twitch, _run = vip
    assert client.get(f"/dashboard/{OTHER}/vip/").status_code == 403
    token = _csrf(client)
    form = {"login": "viewer1", "hours": "5", "csrf_token": token}
    other = client.post(f"/dashboard/{OTHER}/vip/grant", data=form)
    assert other.status_code == 403
    forged = client.post(f"/dashboard/{GUILD}/vip/grant", data={"login": "viewer1", "hours": "5"})
    assert forged.status_code == 403
    assert twitch.vips == set()


def test_the_reward_is_created_from_the_page_as_vip_setup_does(client, vip):
    service, _twitch, run = vip
    run(service.change_reward(GUILD, "delete"))
    page = client.get(f"/dashboard/{GUILD}/vip/").text
    assert 'id="create-reward"' in page

    refused = _post(client, "setup", title="VIP for a day", cost="lots", hours="24")
    assert refused.status_code == 400
    assert "The cost is a whole number." in refused.text
    assert run(service.settings(GUILD)).reward_id is None

    created = _post(client, "setup", title="VIP for a day", cost="1500", hours="12")
    assert created.status_code == 302
    settings = run(service.settings(GUILD))
    assert settings.reward_id is not None
    assert (settings.reward_title, settings.reward_cost) == ("VIP for a day", 1500)
    assert settings.duration_hours == 12
    assert "costs 1,500 points and gives 12 hour(s)" in client.get(f"/dashboard/{GUILD}/vip/").text


def test_the_page_counts_redemptions_waiting_and_refunds_not_told_in_chat(client, engine):
    """While the streamer must connect Twitch again, the page says how many redemptions wait
    and how many viewers were refunded without a chat line; nothing when there are none."""
    page = client.get(f"/dashboard/{GUILD}/vip/")
    assert 'id="vip-waiting"' not in page.text
    assert 'id="vip-untold"' not in page.text
    with transaction(engine) as conn:
        for redemption_id in ("r1", "r2", "r3"):
            redemptions_repository.claim_redemption(
                conn, GUILD, Platform.TWITCH, redemption_id, T0, T0 + timedelta(minutes=2)
            )
        for redemption_id in ("r1", "r2"):
            parked = redemption("42", "reward-1", redemption_id=redemption_id)
            redemptions_repository.wait_for_connection(conn, GUILD, parked, was_adding=False)
        redemptions_repository.finish_redemption(conn, GUILD, Platform.TWITCH, "r3")
        redemptions_repository.keep_untold(conn, GUILD, Platform.TWITCH, "r3", "@v no VIP")

    page = client.get(f"/dashboard/{GUILD}/vip/")

    assert "2 redemptions wait for the streamer to connect Twitch again" in page.text
    assert "1 viewer was refunded but not told in chat" in page.text


def test_a_waiting_redemption_whose_reward_was_deleted_on_twitch_is_shown_refused(client, vip):
    """It no longer counts as waiting once the streamer connected; the log says why it was
    refused (its reward deleted on twitch.tv, its points not refundable)."""
    service, twitch, run = vip
    reward_id = run(service.settings(GUILD)).reward_id
    service.effects.needs_reauthorization = lambda _guild_id: True
    run(service.redemptions.handle(GUILD, redemption("9001", reward_id, username="viewer1")))
    assert 'id="vip-waiting"' in client.get(f"/dashboard/{GUILD}/vip/").text
    del twitch.rewards[reward_id]  # deleted on twitch.tv
    service.effects.needs_reauthorization = lambda _guild_id: False

    run(service.drain_missed())

    assert 'id="vip-waiting"' not in client.get(f"/dashboard/{GUILD}/vip/").text
    log = client.get(f"/dashboard/{GUILD}/vip/log").text
    assert "its reward was deleted on Twitch, so its points could not be refunded" in log


def test_the_vip_list_says_how_each_vip_was_granted_in_the_words_discord_uses(client, vip):
    """An outside VIP is "outside (never removed)", as ``!vip list`` says, not its code."""
    service, _twitch, run = vip
    seen = VipAdded(
        platform=Platform.TWITCH,
        event_id="vip-add-9002",
        broadcaster_user_id=BROADCASTER,
        occurred_at=T0,
        viewer=Viewer("9002", "viewer2"),
    )
    run(service.expiry.handle_vip_added(GUILD, seen))
    assert _post(client, "grant", login="viewer1", hours="5").status_code == 302

    for path in ("", "list"):
        text = client.get(f"/dashboard/{GUILD}/vip/{path}").text
        assert "<td>outside (never removed)</td>" in text
        assert "<td>manual</td>" in text
        assert "<td>outside</td>" not in text


def test_the_vip_list_says_why_an_expired_vip_was_not_removed(client, vip):
    """Twitch refused the removal (403): the list says why the VIP is still there."""
    from core.features.vip.ports import Refusal, TwitchRefused
    from tests.features.vip.doubles import expire

    service, twitch, run = vip
    assert _post(client, "grant", login="viewer1", hours="5").status_code == 302
    service.effects.clock.advance(6 * 3600)
    twitch.busy.append(TwitchRefused(Refusal.FORBIDDEN, "403"))
    run(expire(service))

    for path in ("", "list"):
        text = client.get(f"/dashboard/{GUILD}/vip/{path}").text
        assert (
            "Not removed yet: Twitch does not let StreamKeeper change VIPs in this channel "
            "(tried again every minute)." in text
        )


def test_revoking_a_kick_vip_while_discord_is_away_is_a_400_in_words(discord, engine):
    """The dashboard serves while the bot's Discord connection is down (or in a web process of
    its own): revoking a Kick VIP, whose role Discord must take off, was a 500 page; it is
    refused in words, and the VIP stays until Discord is back."""
    from core.features.linking.repository import AccountLink, save_link
    from tests.features.vip.doubles import FakeRoles, make_discord_calls
    from tests.features.vip.test_kick_roles import kick_redemption

    clock = Clock(T0)
    roles = FakeRoles(members={4242: set()}, assignable={7000})
    service = VipService(engine, clock, FakeVipChannel(clock), lambda guild_id: None, roles=roles)
    run = coroutine_runner()
    run(service.set_kick_reward(GUILD, "VIP role for a day", 7000))
    with transaction(engine) as conn:
        save_link(conn, AccountLink(Platform.KICK, "77", 4242, "kickviewer", T0), GUILD)
    run(service.kick_roles.handle(GUILD, kick_redemption("77")))
    run(make_discord_calls(service))
    assert roles.members[4242] == {7000}
    roles.away = True

    config = DashboardConfig(
        secret="test-secret",
        public_url=PUBLIC,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=discord.api_base_url,
        oauth_base_url=discord.oauth_base_url,
        bot_guild_ids=lambda: [GUILD, OTHER],
        run=run,
        vip=service,
    )
    app = Flask(__name__)
    register(app, config)
    with app.test_client() as client:
        client.get("/dashboard/callback", query_string=_consent(client, discord))
        answer = _post(client, "revoke", login="kickviewer")

    assert answer.status_code == 400
    assert (
        "Discord is not connected right now, so the VIP role cannot be taken off: "
        "try again in a moment." in answer.text
    )
    assert roles.members[4242] == {7000}
    assert len(run(service.list_vips(GUILD))) == 1


def test_a_refused_settings_form_shows_what_was_typed_not_what_is_saved(client, vip):
    """The stacking cap, the most at once and the boxes as typed come back with the refusal, to
    be mended; nothing was saved."""
    service, _twitch, run = vip
    before = run(service.settings(GUILD))
    typed = {"is_auto_removal": "on", "max_hours": "72", "max_concurrent": "1000"}
    typed["notice_channel_id"] = ""

    answer = _post(client, "settings", **typed)

    assert answer.status_code == 400
    assert "The most temporary VIPs" in answer.text
    form = answer.text[answer.text.index('id="settings"') :]
    form = form[: form.index("</form>")]
    assert re.search(r'id="max-hours"[^>]*value="72"', form)
    assert re.search(r'id="max-concurrent"[^>]*value="1000"', form)
    boxes = dict(re.findall(r'name="(is_\w+)" ?(checked)?', form))
    assert boxes == {"is_stacking": "", "is_chat_notices": "", "is_auto_removal": "checked"}
    assert run(service.settings(GUILD)) == before
