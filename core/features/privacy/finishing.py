"""Finishing the forgets that kept rows for now (``privacy_forgets_to_finish``): a timed job
(core/wiring/privacy.py, hourly) finds each recorded person again and runs the same
:func:`~core.features.person_forget.forget` on the tables whose rows are kept only for now
(:data:`~core.features.person_forget.FOR_NOW`): a seat goes once its heist has ended, a VIP grant
once it is removed (its removal on Twitch or Discord reads its row, so an expired grant waits for
it). The forget drops the record once nothing is kept for now.

A member is found as ``privacy export --member`` finds them (:func:`find_person`, which reads the
record), so an account linked now to another member is left to that member; a person forgotten
by a Kick or Twitch name is their recorded accounts. Nothing else of theirs is touched: a person
who links again meanwhile keeps their new links, watchtime and points; only their seats and
grants, once ended, go until the record is dropped.

With several bot processes the job runs in the one holding its lease; the deletes are the
forget's own conditions, so running it twice, or beside an operator's forget, deletes nothing
twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from core.features.person_data import Person, find_person
from core.features.person_forget import FOR_NOW, forget
from core.features.privacy.outbox_calls import RECORDED
from core.features.privacy.tables import privacy_forgets_to_finish as to_finish

log = logging.getLogger(__name__)
FINISH_EVERY_SECONDS = 3600.0


@dataclass(frozen=True)
class FinishRun:
    deleted: int = 0  # rows kept for now and deleted by this run
    finished: int = 0  # people with nothing kept for now any more: their record dropped
    waiting: int = 0  # people with rows still kept for now


def finish_forgets(engine: Engine, clock: Callable[[], datetime]) -> FinishRun:
    """Delete what recorded forgets kept for now and may go now, a transaction per person."""
    with engine.connect() as conn:
        people = recorded_people(conn)
    deleted = finished = 0
    for person in people:
        with engine.begin() as conn:
            report = forget(conn, person, clock(), delete=True, only=FOR_NOW)
        deleted += sum(report.deleted.values())
        finished += not report.for_now
    run = FinishRun(deleted, finished, len(people) - finished)
    if run.deleted or run.finished:
        log.info(
            "forgets finished: %d row(s) kept for now deleted, %d forget(s) done, %d waiting",
            run.deleted,
            run.finished,
            run.waiting,
        )
    return run


def recorded_people(conn: Connection) -> list[Person]:
    """Each person a forget still to finish recorded: a member by their Discord id, and each
    account forgotten by name."""
    rows = conn.execute(
        sa.select(to_finish.c.discord_user_id, to_finish.c.platform, to_finish.c.platform_user_id)
        .distinct()
        .order_by(to_finish.c.discord_user_id, to_finish.c.platform, to_finish.c.platform_user_id)
    ).all()
    members = sorted({int(member) for member, _, _ in rows if member is not None})
    people = [find_person(conn, member) for member in members]
    for member, platform, user_id in rows:
        if member is None and platform == RECORDED:
            people.append(Person(None, frozenset(), {}, frozenset({int(user_id)})))
        elif member is None and platform is not None:
            people.append(Person(None, frozenset({(str(platform), str(user_id))}), {}))
    return people
