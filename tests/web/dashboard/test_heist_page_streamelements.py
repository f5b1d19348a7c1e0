"""The heist & points page in a guild that keeps its points in StreamElements: give and take
are queued for StreamElements as !pointsgive queues them (asked of the loopback fake, keyed by
the form's reference, with the dashboard user and reason), our ledger is not touched, and the
balances shown say they are our ledger's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.linking.repository import AccountLink, save_link
from core.features.points.se_payments import SERVICE
from core.storage.tables import outbox
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.web.dashboard.conftest import ADMIN, GUILD, post
from tests.web.dashboard.test_heist_page import PAGE, _viewer


@pytest.fixture
def streamelements() -> Iterator[FakeStreamElements]:
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
def site_settings(streamelements) -> dict[str, str]:
    return {"STREAMELEMENTS_API_URL": streamelements.base_url}


def _queued(site) -> list[dict[str, object]]:
    with site.runtime.engine.connect() as conn:
        payloads = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.service == SERVICE).order_by(outbox.c.id)
        ).scalars()
        return [json.loads(payload) for payload in payloads]


def _reference(page: str) -> str:
    [found] = re.findall(r'name="reference" value="([0-9a-f]+)"', page)
    return found


def _link_to_twitch(site, kick_id: str, twitch_id: str, login: str, member: int = 4321) -> None:
    """A Discord member who linked Kick account ``kick_id`` and Twitch account ``login``."""
    with site.runtime.engine.begin() as conn:
        for platform, user_id, name in (
            (Platform.KICK, kick_id, "-"),
            (Platform.TWITCH, twitch_id, login),
        ):
            save_link(conn, AccountLink(platform, user_id, member, name, datetime.now(UTC)), GUILD)


def test_give_and_take_are_queued_for_streamelements_once_per_form(site, streamelements):
    """A Kick viewer's points on StreamElements are those of the Twitch account linked to the
    same member (StreamElements keeps points by Twitch login)."""
    streamelements.points["viewer_one"] = 800
    streamelements.points["kick_one"] = 5_000  # another person's, on Twitch: never touched
    _viewer(site, "1", "kick_one", 300)  # on our ledger from before StreamElements
    _link_to_twitch(site, "1", "71", "viewer_one")
    site.runtime.points_wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
    client = site.client()
    form = client.get(PAGE).text
    ref = _reference(form)

    given = post(client, PAGE + "points/give", viewer="kick_one", amount="500",
                 reason="prize", reference=ref)  # fmt: skip
    assert given.status_code == 302
    assert (
        "Giving 500 points to kick_one (kick) as viewer_one (twitch) on StreamElements, where "
        "they have 800 points; the change is made within seconds." in client.get(PAGE).text
    )
    again = post(client, PAGE + "points/give", viewer="kick_one", amount="500",
                 reason="prize", reference=ref)  # fmt: skip
    assert again.status_code == 302
    assert (
        "That change for kick_one (kick) as viewer_one (twitch) was queued already"
        in client.get(PAGE).text
    )

    refused = post(client, PAGE + "points/remove", viewer="kick_one", amount="900",
                   reference=_reference(form))  # fmt: skip
    assert refused.status_code == 400
    assert 'id="e-amount"' in refused.text
    assert "viewer_one has only 800 points free on StreamElements." in refused.text

    taken = post(client, PAGE + "points/remove", viewer="kick_one", amount="200",
                 reason="oops", reference=_reference(client.get(PAGE).text))  # fmt: skip
    assert taken.status_code == 302
    assert [(p["username"], p["amount"], p["actor_id"], p["reason"]) for p in _queued(site)] == [
        ("viewer_one", 500, ADMIN, "prize"),
        ("viewer_one", -200, ADMIN, "oops"),
    ]
    assert site.runtime.points.balance(GUILD, Platform.KICK, "1") == 300  # the ledger as it was
    assert streamelements.puts == []  # made by the streamelements worker, not by the page


def test_a_kick_viewer_with_no_twitch_account_linked_is_refused_in_words(site, streamelements):
    """StreamElements keeps points by Twitch login: a Kick name is no login, and a Kick viewer
    called like a Twitch viewer must not change that viewer's points."""
    streamelements.points["viewer_one"] = 800
    _viewer(site, "1", "viewer_one")
    site.runtime.points_wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
    client = site.client()
    answer = post(client, PAGE + "points/remove", viewer="viewer_one", amount="500",
                  reason="x", reference=_reference(client.get(PAGE).text))  # fmt: skip
    assert answer.status_code == 400
    assert 'id="e-amount"' in answer.text
    assert (
        "StreamElements knows viewers by their Twitch account, and viewer_one on Kick has none "
        "linked here." in answer.text
    )
    assert _queued(site) == []
    assert streamelements.reads == []


def test_a_form_without_its_reference_queues_nothing(site, streamelements):
    streamelements.points["viewer_one"] = 800
    _viewer(site, "1", "viewer_one")
    site.runtime.points_wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
    answer = post(site.client(), PAGE + "points/give", viewer="viewer_one", amount="5")
    assert answer.status_code == 400
    assert "This form is missing its reference" in answer.text
    assert _queued(site) == []


def test_the_balances_say_they_are_the_ledgers_and_streamelements_is_not_asked(
    site, streamelements
):
    _viewer(site, "1", "viewer_one", 300)
    client = site.client()
    assert 'id="ledger-note"' not in client.get(PAGE).text
    site.runtime.points_wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
    page = client.get(PAGE, query_string={"q": "viewer_one"}).text
    assert 'id="ledger-note"' in page
    assert "StreamKeeper's ledger (not StreamElements): top 1 of 1" in page
    assert "Points in the ledger" in page
    assert "Give or take points on StreamElements" in page
    assert streamelements.reads == []
