"""Two sign-ins that finish at once (PostgreSQL runs their transactions side by side; SQLite one
writer at a time): the second reads before the first commits, and writes after. The unique keys
decide, and the second is answered as any later sign-in is: refused when the account went to
another member, a replacement when the member linked another account. Never an error page."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.linking import repository
from core.features.linking.repository import AccountLink
from core.features.linking.service import ALREADY_LINKED, LinkingService, LinkRefused, LinkResult
from tests.support.clock import Clock
from tests.support.waiting import eventually

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
GUILD, ANA, BOB = 111, 1, 2


def someone_waits_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        return conn.exec_driver_sql(waiting).scalar_one() > 0


def while_another_link_commits(
    engine: Engine, other: AccountLink, sign_in: Callable[[], LinkResult]
) -> LinkResult | Exception:
    """``sign_in()`` in a thread while another transaction has written ``other`` and not
    committed yet; that one commits once the sign-in waits on it. What the sign-in gave."""
    outcome: list[LinkResult | Exception] = []

    def run() -> None:
        try:
            outcome.append(sign_in())
        except Exception as exc:
            outcome.append(exc)

    with engine.connect() as conn, conn.begin():
        repository.save_link(conn, other, GUILD)
        thread = threading.Thread(target=run)
        thread.start()
        asyncio.run(eventually(lambda: someone_waits_on_a_lock(engine), within=60))
    thread.join(60)
    assert not thread.is_alive()
    return outcome[0]


def test_an_account_two_members_link_at_once_goes_to_the_first_the_other_is_refused(
    postgres_engine: Engine,
):
    linking = LinkingService(postgres_engine, Clock(T0))
    bobs = AccountLink(Platform.KICK, "k-1", BOB, "shared", T0)

    outcome = while_another_link_commits(
        postgres_engine,
        bobs,
        lambda: linking.link(
            guild_id=GUILD,
            discord_user_id=ANA,
            platform=Platform.KICK,
            platform_user_id="k-1",
            username="shared",
        ),
    )

    assert isinstance(outcome, LinkRefused), repr(outcome)
    assert outcome.reason == ALREADY_LINKED
    assert linking.link_of(BOB) is not None
    assert linking.link_of(ANA) is None
    assert [entry.reason for entry in linking.history(GUILD, ANA)] == [ALREADY_LINKED]


def test_two_accounts_one_member_links_at_once_leave_the_later_one(postgres_engine: Engine):
    linking = LinkingService(postgres_engine, Clock(T0))
    first = AccountLink(Platform.KICK, "k-1", ANA, "first", T0)

    outcome = while_another_link_commits(
        postgres_engine,
        first,
        lambda: linking.link(
            guild_id=GUILD,
            discord_user_id=ANA,
            platform=Platform.KICK,
            platform_user_id="k-2",
            username="second",
        ),
    )

    assert isinstance(outcome, LinkResult), repr(outcome)
    assert outcome.replaced_username == "first"
    with postgres_engine.connect() as conn:
        links = conn.execute(sa.text("SELECT platform_user_id FROM account_links")).scalars()
        assert list(links) == ["k-2"]
