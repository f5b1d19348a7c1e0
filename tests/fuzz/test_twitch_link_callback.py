"""Fuzz: what a browser can send to the Twitch sign-in pages, and what a member can type after
``!link``.

The callback (``/auth/twitch/callback``) and the viewer's start link (``/auth/twitch``) read
``state``, ``code``, ``error`` and the signed link's fields from the address: whatever they hold,
the answer is a plain page with a 2xx/4xx/503 status, never a 500, and nothing is linked unless
Twitch said who signed in. Some examples come back with a real state (a sign-in started in the
same browser) and fuzzed ``code``/``error``, so the viewer's refusal path is reached too.
``parse_platform``/``choose`` (``!link [platform]``) return a platform or a plain refusal for any
text, and the refusal shows the text back inert.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.discord_bot.linking import render as render_linking
from core.events import Platform
from core.features.linking.platforms import LINKABLE, choose, parse_platform
from core.platforms.http import tls_context
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.fuzz.conftest import record
from tests.fuzz.strategies import NASTY
from tests.support.clock import Clock

VIEWER_ID = "555000111"
GUILD = 4242
MEMBER = 888

value = st.one_of(
    st.sampled_from([str(v) for v in NASTY]),
    st.text(max_size=80),
    st.text(alphabet="abcdef0123456789_-", max_size=64),
    st.sampled_from(["access_denied", "server_error", "", "redirect_mismatch"]),
)
params = st.dictionaries(
    st.sampled_from(["state", "code", "error", "error_description", "scope", "user_id", "login"]),
    value,
    max_size=6,
)
link_params = st.dictionaries(
    st.sampled_from(["guild", "user", "expires", "id", "sig"]), value, max_size=5
)


def query(fields: dict[str, str]) -> str:
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in fields.items()})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock):
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(VIEWER_ID, "viewer_tw")
        fake.consenting_user_id = VIEWER_ID
        yield fake


@pytest.fixture
def runtime(tmp_path, twitch, clock):
    runtime = runtime_on_fake_twitch(twitch, tmp_path / "data", clock)
    yield runtime
    runtime.close()


def real_callback(web, runtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Start a viewer sign-in in ``web`` (its cookie), consent, and return the callback's
    ``state`` and ``code``."""
    link = runtime.linking.start_link(GUILD, MEMBER, Platform.TWITCH)
    parts = urlsplit(link)
    local = f"{parts.path}?{parts.query}"
    assert web.get(local).status_code == 200
    started = web.post(local)
    assert started.status_code == 303
    consent = httpx.get(
        started.headers["Location"], follow_redirects=False, trust_env=False, verify=tls_context()
    )
    callback = urlsplit(consent.headers["location"])
    got = dict(p.split("=", 1) for p in callback.query.split("&"))
    return {"state": got["state"], "code": got["code"]}


def test_the_twitch_sign_in_pages_answer_any_address_with_a_plain_page(runtime):
    target = "twitch-link-callback"
    web = runtime.create_web_app().test_client()

    @given(params, link_params, st.integers(min_value=0, max_value=3))
    def check(fields: dict[str, str], link_fields: dict[str, str], mode: int) -> None:
        try:
            if mode == 0:
                # A real state; Twitch's own code unless the example brings one (or an error).
                real = real_callback(web, runtime)
                fields = {**real, **fields, "state": real["state"]}
            path = "/auth/twitch/callback" if mode < 2 else "/auth/twitch"
            sent = fields if mode < 2 else link_fields
            method = web.post if mode == 3 else web.get
            answer = method(f"{path}?{query(sent)}")
            assert answer.status_code in (200, 400, 403, 409, 410, 503), answer.status_code
            assert answer.headers["Content-Type"].startswith("text/html")
            assert answer.headers["Cache-Control"] == "no-store"
            linked = runtime.linking.link_of(MEMBER, Platform.TWITCH)
            if linked is not None:
                # Only Twitch's word makes a link: its user, whatever the address said.
                assert linked.platform_user_id == VIEWER_ID
                runtime.linking.unlink(GUILD, MEMBER, actor_id=MEMBER, platform=Platform.TWITCH)
        except Exception:
            record(target, "error")
            raise
        record(target, f"{['real-state', 'callback', 'start', 'begin'][mode]} {answer.status_code}")

    check()


def test_the_platform_a_member_types_is_read_or_refused_plainly():
    target = "link-platform-argument"
    configured = LINKABLE

    words = st.sampled_from(["kick", "Twitch", " TWITCH ", "twitch!", "kick twitch", "youtube"])
    nasty = st.sampled_from([str(v) for v in NASTY])

    @given(st.one_of(st.none(), st.text(max_size=100), nasty, words))
    def check(text: str | None) -> None:
        try:
            parsed = parse_platform(text)
            assert parsed is None or parsed in LINKABLE
            for offered in ((), (Platform.KICK,), LINKABLE):
                choice = choose(text, offered, configured)
                if choice.platform is None and choice.unknown is not None:
                    assert len(choice.unknown) <= 32
                    shown = render_linking.unknown_platform(choice.unknown, offered, "!")
                    assert "@everyone" not in shown
                    assert "@here" not in shown
                if choice.platform is not None:
                    assert choice.platform in configured
        except Exception:
            record(target, "error")
            raise
        record(target, "none" if parsed is None else parsed.value)

    check()
