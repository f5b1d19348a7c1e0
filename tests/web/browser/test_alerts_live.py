"""Issue 46: alerts a streamer picks, the goal bar and replay, in chromium at 1920x1080, fed by
signed EventSub webhooks through the fake Twitch and by Kick's example webhooks signed with a
test key (the production server on 127.0.0.1).

Every Twitch kind (follow, subscription, resubscription, gifted subs, raid, cheer) reaches the
alerts overlay in the order sent, one at a time, each with its words; the cheer's picture and
the big cheer's variation (another picture and a sound) are on the page as elements loading
this guild's files. On Kick: a follow, a subscription, a renewal, a gift and KICKs (the tip
Kick sends), the KICKs with their amount's variation (a sound). The goal bar, set on the
dashboard, moves with gifts and resets. Replay on the dashboard shows a recent follow again.
With ``SCREENSHOT_DIR`` set, the states are saved.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import httpx
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from core.platforms.http import tls_context
from core.platforms.kick.signing import generate_key_pair, signed_headers
from core.web.dashboard.aio import coroutine_runner
from tests.conftest import FIXTURES
from tests.discord_bot.test_done_when_issue_13 import BROADCASTER
from tests.fakes.discord_oauth import MANAGE_GUILD
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET
from tests.support.clock import Clock
from tests.support.delivery import deliver_queued
from tests.web.browser.test_login import _log_in
from tests.web.browser.test_overlays_live import SHOWN_WITHIN_MS, _open
from tests.web.browser.test_overlays_live import live_site as live_site  # the fixture
from tests.web.browser.test_vip_live import ADMIN, GUILD, _connect_twitch, served_on_fake_twitch
from tests.web.dashboard.test_alerts_page import png, wav

SECONDS = 2  # each alert's time on screen (the shortest a streamer may pick)
CHEER_SECONDS = 12  # the cheers' (axe runs on the last one while it is shown)
KICK_BROADCASTER = "123456789"  # Kick's examples' broadcaster (tests/fixtures/kick/)

# Every alert the page shows, in order, with its picture and sound, as attributes to wait on.
OBSERVE = """() => {
    const box = document.getElementById('alert'), seen = [], media = [];
    new MutationObserver(() => {
        const image = document.getElementById('alert-image');
        const sound = document.getElementById('alert-sound');
        seen.push(document.getElementById('alert-title').textContent);
        media.push([image.hidden ? '' : image.getAttribute('src'),
                    sound.getAttribute('src') || ''].join(' '));
        document.body.dataset.seen = seen.join('|');
        document.body.dataset.media = media.join('|');
    }).observe(box, {attributes: true, attributeFilter: ['data-seq']});
}"""


def _save(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if not os.environ.get("SCREENSHOT_DIR"):
        return
    page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"], f"{name}.png")))


# True once no animation on the page is running (an alert's pop-in ends at full opacity).
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"


def _axe_problems(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe's serious or critical findings on the overlay over a white scene and a black one."""
    found = []
    page.wait_for_function(SETTLED)  # axe reads colours: not halfway through a fade-in
    for scene in ("#ffffff", "#000000"):
        page.evaluate(f"document.documentElement.style.background = '{scene}'")
        results = Axe().run(page)
        found += [
            f"{scene}: {v['id']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    page.evaluate("document.documentElement.style.background = ''")
    return found


def _upload(runtime, name: str, data: bytes) -> str:  # type: ignore[no-untyped-def]
    return runtime.overlays.alert_settings.upload(GUILD, name, data).media_id


def test_every_twitch_alert_kind_plays_in_order_with_its_picture_and_sound(
    page, live_site, discord
):  # type: ignore[no-untyped-def]
    runtime, _twitch, url = live_site
    run = coroutine_runner()
    try:
        _drive(page, runtime, url, discord, run)
    finally:
        run(runtime.shutdown())


def _drive(page, runtime, url, discord, run) -> None:  # type: ignore[no-untyped-def]
    runtime.guilds.ensure_guild(GUILD, "Managed")
    discord.sign_in_as(discord.add_user(ADMIN, "ana").member_of(GUILD, "Managed", MANAGE_GUILD))
    _connect_twitch(runtime, run, url)
    broadcaster = BROADCASTER
    sender = EventSubSender.http(url, runtime.clock, secret=EVENTSUB_SECRET)
    settings = runtime.overlays.alert_settings
    small = _upload(runtime, "small.png", png(120, 80))
    big = _upload(runtime, "big.png", png(240, 160))
    horn = _upload(runtime, "horn.wav", wav())
    for kind in ("follow", "subscription", "resubscription", "gifted_subs", "raid"):
        style = next(k.style for k in settings.kinds(GUILD) if k.kind == kind)
        typed = {"enabled": "on", "template": style.template, "seconds": str(SECONDS)}
        settings.save_style(GUILD, kind, typed)
    settings.save_style(GUILD, "cheer", {
        "enabled": "on", "template": "{who} cheered {amount} bits: {message}",
        "seconds": str(CHEER_SECONDS), "image_id": small,
    })  # fmt: skip
    settings.save_variation(GUILD, "cheer", {
        "threshold": "1000", "template": "{who} MEGA cheer of {amount}!", "image_id": big,
        "sound_id": horn,
    })  # fmt: skip

    alerts = _open(page, runtime.overlays.url(GUILD, "alerts"))
    alerts.evaluate(OBSERVE)

    def user(user_id: str, name: str) -> dict[str, str]:
        return {"user_id": user_id, "user_login": name.lower(), "user_name": name}

    raider = {"from_broadcaster_user_id": "505", "from_broadcaster_user_login": "raidy",
              "from_broadcaster_user_name": "Raidy"}  # fmt: skip
    sent = [
        ("channel.follow", user("501", "Fola")),
        ("channel.subscribe", {**user("502", "Subby"), "tier": "2000", "is_gift": False}),
        ("channel.subscription.message", {**user("503", "Resa"), "cumulative_months": 14}),
        (
            "channel.subscription.gift",
            {**user("504", "Santa"), "total": 5, "cumulative_total": 5, "tier": "1000"},
        ),
        ("channel.raid", {**raider, "to_broadcaster_user_id": broadcaster, "viewers": 42}),
        ("channel.cheer", {**user("506", "Bitsy"), "bits": 100, "message": "gg"}),
        ("channel.cheer", {**user("506", "Bitsy"), "bits": 1500, "message": "wow"}),
    ]
    for subscription_type, fields in sent:
        owner = None if subscription_type == "channel.raid" else broadcaster
        status, answer = sender.notify(subscription_type, owner, **fields)
        assert (status, answer["status"]) == (200, "queued"), (subscription_type, answer)
    run(deliver_queued(runtime))

    expected = [
        "Fola just followed!",
        "Subby subscribed (Tier 2)!",
        "Resa resubscribed for 14 months!",
        "Santa gifted 5 subs",
        "Raidy is raiding with 42 viewers!",
        "Bitsy cheered 100 bits: gg",
        "Bitsy MEGA cheer of 1,500!",
    ]
    # One at a time: each stays SECONDS, then a breath; the seventh shows after six turns.
    # The cheers stay longer, so the checks below run while the last one is on screen.
    wait = (len(expected) * (SECONDS + 1) + 2 * CHEER_SECONDS) * 1000 + SHOWN_WITHIN_MS
    body = alerts.locator("body")
    expect(body).to_have_attribute("data-seen", "|".join(expected[:-1]), timeout=wait)
    _save(alerts, "overlay-alerts-cheer")
    expect(body).to_have_attribute("data-seen", "|".join(expected), timeout=wait)
    expect(alerts.locator("#alert-image")).to_be_visible()
    _save(alerts, "overlay-alerts-variation")
    media = body.get_attribute("data-media").split("|")
    token_path = runtime.overlays.link(GUILD, "alerts").path
    assert media[:5] == [" "] * 5  # the others: no picture, no sound
    assert media[5] == f"{token_path}/media/{small} "
    assert media[6] == f"{token_path}/media/{big} {token_path}/media/{horn}"
    # The browser loaded the picture from this overlay's own path.
    assert alerts.evaluate("document.getElementById('alert-image').naturalWidth") == 240
    assert not _axe_problems(alerts)
    expect(alerts.locator("#alert-image")).to_be_visible()  # axe ran on it, not after it
    assert body.get_attribute("data-shown") == str(len(expected))

    # The goal bar, set on the dashboard, moved by a gift, then reset there.
    admin = alerts.context.new_page()
    admin.set_viewport_size({"width": 1366, "height": 900})
    _log_in(admin, SimpleNamespace(url=url))
    admin.goto(f"{url}/dashboard/{GUILD}/alerts/")
    admin.select_option("#goal-measure", "gifted_subs")
    admin.fill("#goal-target", "20")
    admin.fill("#goal-title-text", "Gift train")
    admin.click("#goal-save")
    expect(admin.locator(".done")).to_contain_text("Goal saved")
    goal = alerts.context.new_page()
    _open(goal, runtime.overlays.url(GUILD, "goal"))
    expect(goal.locator("#goal-count")).to_have_text("0 / 20 gifted subs")
    status, answer = sender.notify(
        "channel.subscription.gift", broadcaster, user_id="507", user_login="elf",
        user_name="Elf", total=7, cumulative_total=7, tier="1000",
    )  # fmt: skip
    assert status == 200, answer
    run(deliver_queued(runtime))
    expect(goal.locator("#goal-count")).to_have_text("7 / 20 gifted subs", timeout=SHOWN_WITHIN_MS)
    assert goal.locator("#goal-bar").get_attribute("aria-valuenow") == "7"
    assert not _axe_problems(goal)
    _save(goal, "overlay-goal")
    admin.goto(f"{url}/dashboard/{GUILD}/alerts/")
    expect(admin.locator("#goal-now")).to_contain_text("7 of 20 gifted subs")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click("#goal-reset")
    expect(admin.locator(".done")).to_contain_text("counts from zero again")
    expect(goal.locator("#goal-count")).to_have_text("0 / 20 gifted subs", timeout=SHOWN_WITHIN_MS)

    # Replay from the dashboard: the follow again, on the overlay, after the others (Elf's
    # gift among them).
    replay = admin.locator("#replay-list li", has_text="Fola followed")
    replay.locator("button").click()
    expect(admin.locator(".done")).to_contain_text("Replayed on the alerts overlay")
    expect(body).to_have_attribute(
        "data-seen",
        "|".join([*expected, "Elf gifted 7 subs", "Fola just followed!"]),
        timeout=wait,
    )


def test_kick_follows_subs_gifts_and_kicks_alert_from_signed_webhooks(page, tmp_path, discord):  # type: ignore[no-untyped-def]
    private_key, public_pem = generate_key_pair()
    with served_on_fake_twitch(tmp_path, discord, Clock(), KICK_WEBHOOK_PUBLIC_KEY=public_pem) as (
        runtime,
        _twitch,
        url,
    ):
        runtime.guilds.ensure_guild(GUILD, "Managed")
        runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", KICK_BROADCASTER)
        settings = runtime.overlays.alert_settings
        horn = _upload(runtime, "horn.wav", wav())
        for kind in ("follow", "subscription", "resubscription", "gifted_subs", "tip"):
            style = next(k.style for k in settings.kinds(GUILD) if k.kind == kind)
            typed = {"enabled": "on", "template": style.template, "seconds": str(SECONDS)}
            settings.save_style(GUILD, kind, typed)
        settings.save_variation(GUILD, "tip", {"threshold": "500", "sound_id": horn})
        alerts = _open(page, runtime.overlays.url(GUILD, "alerts"))
        alerts.evaluate(OBSERVE)
        kinds = (
            "channel.followed",
            "channel.subscription.new",
            "channel.subscription.renewal",
            "channel.subscription.gifts",
            "kicks.gifted",
        )
        for event_type in kinds:
            body = (FIXTURES / "kick" / f"{event_type}.json").read_bytes()
            if event_type == "channel.subscription.renewal":  # Kick's two examples tell
                # one sub (a subscriber, a second): a renewal is another moment
                body = body.replace(b'"2025-01-14T16:08:06Z"', b'"2025-01-14T16:08:07Z"', 1)
            headers = signed_headers(private_key, body, event_type=event_type)
            answer = httpx.post(
                f"{url}/webhooks/kick",
                content=body,
                headers=headers,
                timeout=10,
                verify=tls_context(),
            )
            assert answer.status_code == 200, (event_type, answer.text)
        run = coroutine_runner()
        try:
            run(deliver_queued(runtime))
        finally:
            run(runtime.shutdown())
        expected = [
            "follower_name just followed!",
            "subscriber_name subscribed!",
            "subscriber_name resubscribed for 3 months!",
            "gifter_name gifted 1 sub",
            "gift_sender sent 500 KICKs!",
        ]
        wait = len(expected) * (SECONDS + 1) * 1000 + SHOWN_WITHIN_MS
        body_el = alerts.locator("body")
        expect(body_el).to_have_attribute("data-seen", "|".join(expected), timeout=wait)
        token_path = runtime.overlays.link(GUILD, "alerts").path
        media = body_el.get_attribute("data-media").split("|")
        assert media[-1] == f" {token_path}/media/{horn}"  # 500 KICKs: the variation's sound
        assert alerts.locator("#alert-sound").get_attribute("src") == f"{token_path}/media/{horn}"
