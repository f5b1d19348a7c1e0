"""The caps on open live streams: per overlay link, per server, per client address, and a fair
share of the process's bound, so that one server can never take another's capacity."""

from __future__ import annotations

from core.web.dashboard.live_admission import Admissions, LiveCaps, Refusal, Ticket

A, B, C = 1, 2, 3
NONE: frozenset[str] = frozenset()


def _open(admissions: Admissions, guild: int, client: str = "10.0.0.1", token: str | None = None):  # type: ignore[no-untyped-def]
    tokens = frozenset({token}) if token else NONE
    return admissions.admit(frozenset({guild}), tokens, client)


def test_each_cap_refuses_in_words_with_a_time_to_retry() -> None:
    admissions = Admissions(LiveCaps(process=100, per_overlay=2, per_guild=3, per_client=4))
    assert all(isinstance(_open(admissions, A, f"c{i}", "tok"), Ticket) for i in range(2))
    refused = _open(admissions, A, "c9", "tok")
    assert isinstance(refused, Refusal)
    assert refused.reason == "This overlay link has as many live connections open as it may."
    assert refused.retry_after > 0
    assert isinstance(_open(admissions, A, "c9"), Ticket)  # the server's third
    assert "This server" in _open(admissions, A, "c10").reason  # type: ignore[union-attr]
    for guild in (B, C, 4, 5):
        _open(admissions, guild, "same")
    assert "Your address" in _open(admissions, 6, "same").reason  # type: ignore[union-attr]


def test_a_released_place_is_free_again_and_a_second_release_changes_nothing() -> None:
    admissions = Admissions(LiveCaps(process=100, per_guild=1))
    ticket = _open(admissions, A)
    assert isinstance(ticket, Ticket)
    assert isinstance(_open(admissions, A), Refusal)
    admissions.release(ticket)
    admissions.release(ticket)
    assert len(admissions) == 0
    assert isinstance(_open(admissions, A), Ticket)


def test_a_full_process_gives_a_newcomer_server_its_fair_share_from_the_biggest() -> None:
    admissions = Admissions(LiveCaps(process=6, per_guild=6, per_client=100))
    held = [_open(admissions, A, f"c{i}") for i in range(6)]  # A took the whole process
    assert all(isinstance(t, Ticket) for t in held)
    newcomer = _open(admissions, B, "b")
    assert isinstance(newcomer, Ticket)
    assert held[-1].ended  # type: ignore[union-attr]  # A's newest made room
    assert (admissions.count(A), admissions.count(B)) == (5, 1)
    assert isinstance(_open(admissions, A, "again"), Refusal)  # A is over its share: waits
    for i in range(2):
        assert isinstance(_open(admissions, B, f"b{i}"), Ticket)
    assert (admissions.count(A), admissions.count(B)) == (3, 3)
    assert isinstance(_open(admissions, B, "b9"), Refusal)  # B has its share too: no more


def test_a_connection_that_opens_again_replaces_its_old_stream() -> None:
    admissions = Admissions(LiveCaps(process=100, per_client=1))
    first = admissions.admit(frozenset({A}), NONE, "10.0.0.1", "worker-1")
    second = admissions.admit(frozenset({A, B}), NONE, "10.0.0.1", "worker-1")
    assert isinstance(first, Ticket)
    assert first.ended
    assert isinstance(second, Ticket)
    assert not second.ended
    assert len(admissions) == 1
    other = admissions.admit(frozenset({A}), NONE, "10.0.0.2", "worker-1")  # not its address
    assert isinstance(other, Ticket)
    assert not second.ended
