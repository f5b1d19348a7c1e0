"""The outbox keeps the calls the bot makes for 30 days after they end (a call in doubt until an
admin settles it), and many name a viewer: a StreamElements payment by their Twitch login, a
slot call's post ("post ana_kick's slot call"), a chat line, what follows their link. A
person's export lists the calls that name them; forgetting them deletes those that ended and
keeps, for now, those still to be made (a payment owed, the roles taken back) and a payment in
doubt until it is settled; the hourly job deletes each once it has ended. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import AccountLinked, Platform, Viewer
from core.features.chat_commands.queued import queue_line
from core.features.linking import calls as linking_calls
from core.features.payments.tables import payments_settlements
from core.features.person_data import Person, find_person, named_accounts, person_rows
from core.features.person_forget import FOR_NOW, forget
from core.features.points.se_payments import queue_payment
from core.features.privacy.finishing import finish_forgets
from core.features.privacy.tables import privacy_forgets_to_finish
from core.features.slot_calls.posts import queue_post
from core.outbox import store
from core.storage.tables import outbox
from tests.features.raffle.support import add_viewer
from tests.features.test_person_data import ANA, seeded  # noqa: F401 - a fixture
from tests.support.clock import Clock
from tests.test_cli import cli, cli_env  # noqa: F401 - cli_env is a fixture

GUILD = 5
T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)
ANA_PERSON = Person(
    ANA,
    frozenset({("kick", "k-ana"), ("twitch", "t-ana")}),
    {"kick": frozenset({"ana_kick"}), "twitch": frozenset({"ana_tv"})},
)


def _end(conn, key: str, state: str) -> None:
    """As the worker leaves a call that ended."""
    conn.execute(
        sa.update(outbox)
        .where(outbox.c.effect_key == key)
        .values(state=state, finished_at=T0, result="as the service said")
    )


def _key(conn, summary_start: str) -> str:
    query = sa.select(outbox.c.effect_key).where(outbox.c.summary.startswith(summary_start))
    return str(conn.execute(query).scalar_one())


def _seed(engine: Engine) -> dict[str, str]:
    """Calls naming Ana (ended, still to be made, in doubt) and others naming nobody of hers.
    Their keys, by what they are."""
    keys = {}
    with engine.begin() as conn:
        for ref, login, amount in (("paid", "ana_tv", 100), ("owed", "Ana_TV", 50),
                                   ("doubt", "ana_tv", -20), ("carl", "carl_tv", 70),
                                   ("given-up", "ana_tv", 30)):  # fmt: skip
            queue_payment(conn, GUILD, login, amount, "heist", ref, T0)
            keys[f"pay {ref}"] = f"points.se-pay:{GUILD}:heist:{ref}"
        _end(conn, keys["pay paid"], store.DONE)
        _end(conn, keys["pay doubt"], store.UNCERTAIN)
        _end(conn, keys["pay carl"], store.DONE)
        _end(conn, keys["pay given-up"], store.FAILED)
        queue_post(conn, GUILD, 1, 77, 1, T0, who="ana_kick", slot="Gates of Olympus")
        queue_post(conn, GUILD, 2, 77, 2, T0, who="banana_kick", slot="Sweet Bonanza")
        keys["post ana"], keys["post banana"] = "slot-call:1", "slot-call:2"
        _end(conn, "slot-call:1", store.DONE)
        _end(conn, "slot-call:2", store.DONE)
        for key, text in (("say ana", "@ana_kick you joined the heist's crew"),
                          ("say bob", "@bob_kick you joined the heist's crew")):  # fmt: skip
            queue_line(conn, Platform.KICK, GUILD, "77", text, key, T0)
            _end(conn, key, store.REFUSED)
            keys[key] = key
        linked = AccountLinked(platform=Platform.KICK, event_id="l-1", occurred_at=T0,
                               guild_id=GUILD, discord_user_id=ANA,
                               viewer=Viewer("k-ana", "ana_kick"))  # fmt: skip
        linking_calls.enqueue(conn, GUILD, linked, T0)
        keys["linked"] = _key(conn, "DM the member who linked")
        _end(conn, keys["linked"], store.DONE)
    return keys


def _left(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(outbox.c.effect_key, outbox.c.state)).all())


def test_their_calls_are_exported_and_the_ended_ones_forgotten(engine):
    keys = _seed(engine)
    theirs = {keys[what] for what in ("pay paid", "pay owed", "pay doubt", "pay given-up",
                                      "post ana", "say ana", "linked")}  # fmt: skip

    with engine.begin() as conn:
        listed = {row["effect_key"] for row in person_rows(conn, ANA_PERSON).get("outbox", [])}
        report = forget(conn, ANA_PERSON, T0, delete=True)

    assert listed == theirs
    # The payment still owed, the one in doubt and the one given up on (sent again should a
    # new JWT come) stay; what ended naming her goes; others' calls are theirs.
    assert report.deleted["outbox"] == 4
    assert report.kept["outbox"][0] == 3
    assert report.for_now == {"outbox": 3}
    assert set(_left(engine)) == {
        keys["pay owed"], keys["pay doubt"], keys["pay given-up"], keys["pay carl"],
        keys["post banana"], keys["say bob"],
    }  # fmt: skip


def test_the_kept_calls_go_once_made_or_settled(engine):
    keys = _seed(engine)
    with engine.begin() as conn:
        forget(conn, ANA_PERSON, T0, delete=True)

    with engine.begin() as conn:  # the hourly job, before anything ended: nothing goes
        assert forget(conn, ANA_PERSON, T0, delete=True, only=FOR_NOW).deleted == {}
    with engine.begin() as conn:
        _end(conn, keys["pay owed"], store.DONE)  # the worker paid her
        doubt = conn.execute(
            sa.select(outbox.c.id).where(outbox.c.effect_key == keys["pay doubt"])
        ).scalar_one()
        conn.execute(sa.insert(payments_settlements).values(
            guild_id=GUILD, outbox_id=doubt, effect_key=keys["pay doubt"], action="paid",
            actor_id=1, actor="cli", reason="checked", created_at=T0))  # fmt: skip
    with engine.begin() as conn:
        report = forget(conn, ANA_PERSON, T0, delete=True, only=FOR_NOW)

    assert report.deleted == {"outbox": 2}
    assert report.for_now == {"outbox": 1}  # the payment given up on, until the outbox's pruning
    assert keys["pay given-up"] in _left(engine)


def test_the_hourly_job_finds_the_kept_payments_once_their_names_are_gone(engine):
    """The forget deletes Ana's links and names, and her payments are found by her Twitch login:
    the job that finishes her forget (which knows her by ids only) still finds the payment
    owed to her once it is made, and the one in doubt once it is settled, deletes them and
    drops her record; until then her record stays."""
    add_viewer(engine, "t-ana", "Ana_TV", discord_id=ANA, platform=Platform.TWITCH)
    with engine.begin() as conn:
        for ref, amount in (("owed", 50), ("doubt", -20)):
            queue_payment(conn, GUILD, "ana_tv", amount, "heist", ref, T0)
        _end(conn, f"points.se-pay:{GUILD}:heist:doubt", store.UNCERTAIN)
        report = forget(conn, find_person(conn, ANA), T0, delete=True)
    assert report.kept["outbox"][0] == 2

    assert finish_forgets(engine, Clock()).waiting == 1
    with engine.begin() as conn:  # the workers made the calls; an admin settled the doubt
        conn.execute(sa.update(outbox).where(outbox.c.state == store.PENDING).values(
            state=store.DONE, finished_at=T0))  # fmt: skip
        doubt = conn.execute(sa.select(outbox.c.id).where(
            outbox.c.state == store.UNCERTAIN)).scalar_one()  # fmt: skip
        conn.execute(sa.insert(payments_settlements).values(
            guild_id=GUILD, outbox_id=doubt, effect_key="k", action="paid", actor_id=1,
            actor="cli", reason="checked", created_at=T0))  # fmt: skip
    run = finish_forgets(engine, Clock())

    assert (run.deleted, run.finished, run.waiting) == (2, 1, 0)
    assert _left(engine) == {}
    with engine.connect() as conn:
        recorded = sa.select(sa.func.count()).select_from(privacy_forgets_to_finish)
        assert conn.execute(recorded).scalar_one() == 0


def test_a_viewer_forgotten_by_name_has_the_payment_owed_to_them_finished(engine):
    """Carl never linked: he is forgotten by ``--account twitch:carl_tv``. His payment owed
    stays until made, then the hourly job deletes it and drops the record; Ana's is hers."""
    add_viewer(engine, "t-carl", "carl_tv", platform=Platform.TWITCH)
    with engine.begin() as conn:
        for ref, login in (("carl", "carl_tv"), ("ana", "ana_tv")):
            queue_payment(conn, GUILD, login, 40, "heist", ref, T0)
        carl = find_person(conn, None, named_accounts(["twitch:carl_tv"]))
        report = forget(conn, carl, T0, delete=True)
    assert report.for_now == {"outbox": 1}

    assert finish_forgets(engine, Clock()).waiting == 1
    with engine.begin() as conn:
        _end(conn, f"points.se-pay:{GUILD}:heist:carl", store.DONE)
    run = finish_forgets(engine, Clock())

    assert (run.deleted, run.waiting) == (1, 0)
    assert set(_left(engine)) == {f"points.se-pay:{GUILD}:heist:ana"}
    with engine.connect() as conn:
        recorded = sa.select(sa.func.count()).select_from(privacy_forgets_to_finish)
        assert conn.execute(recorded).scalar_one() == 0


def test_a_name_that_is_a_word_of_other_calls_does_not_take_them(engine):
    """A viewer whose Twitch login is "heist": the payments of Carl's heist say "(the heist)"
    in their words, but each names its viewer by login, so neither the export nor the forget
    of "heist" takes them. A chat line saying their name is theirs."""
    keys = _seed(engine)
    heist = Person(None, frozenset({("twitch", "t-heist")}), {"twitch": frozenset({"heist"})})
    with engine.begin() as conn:
        queue_line(conn, Platform.TWITCH, GUILD, "78", "@heist welcome!", "say heist", T0)
        _end(conn, "say heist", store.DONE)
        listed = {row["effect_key"] for row in person_rows(conn, heist).get("outbox", [])}
        report = forget(conn, heist, T0, delete=True)

    assert listed == {"say heist"}
    assert report.deleted == {"outbox": 1}
    assert keys["pay carl"] in _left(engine)


def test_the_forget_says_how_many_calls_in_doubt_it_took_off_the_admins_list(engine):
    """A chat line to Ana whose fate is unknown waits for an admin to settle it; forgetting her
    deletes it (it is no payment), and the report says so, as it would before deleting."""
    with engine.begin() as conn:
        queue_line(conn, Platform.KICK, GUILD, "77", "@ana_kick you won!", "say won", T0)
        _end(conn, "say won", store.UNCERTAIN)
        would = forget(conn, ANA_PERSON, T0, delete=False)
        report = forget(conn, ANA_PERSON, T0, delete=True)

    assert (would.doubts_dropped, report.doubts_dropped) == (1, 1)
    assert _left(engine) == {}


def test_the_command_says_what_it_keeps_and_what_in_doubt_it_deletes(cli_env, seeded):  # noqa: F811
    with seeded.engine.begin() as conn:
        queue_line(conn, Platform.KICK, GUILD, "77", "@ana_kick you won!", "say won", T0)
        _end(conn, "say won", store.UNCERTAIN)
        queue_line(conn, Platform.KICK, GUILD, "77", "@ana_kick next!", "say next", T0)

    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert result.returncode == 0, result.stderr
    assert "kept 2 row(s) of outbox: calls naming them still to be made" in result.stdout
    assert (
        "Deleted 1 call(s) naming them whose fate is unknown (a chat line or a Discord post, "
        "no payment): admins no longer see them among the calls to settle."
    ) in result.stdout
