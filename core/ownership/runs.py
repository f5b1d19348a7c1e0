"""When each scheduled job runs next, shared by the bot processes: a job runs once per interval
whichever process holds it, and a run a killed process left half done is run again at once.

A job's lease (``job:<name>``, ``share.py``) says which process runs it; the row
``due:<name>`` beside the leases says when it runs next. While a run is under way its holder is
the running process; once the run ended it is :data:`ENDED`, and its end is the run's end plus
the job's interval (or the run's end, for a run cut off by a stop: it is owed again at once).
A process that takes a job over (one joined and the jobs were shared again, or the last holder
stopped) runs it when the row says:

- now, when no run is known, or the run under way was in a process that died since (killed
  mid-run: its heartbeat lease has run out or was ended, ``lifeline.py``);
- once the run under way in a living process has ended (that process lost the job at its last
  heartbeat, and stops the run within the scheduler's stop grace): it looks again every
  heartbeat;
- else at the row's time.

A scheduler without an ownership (most tests) keeps its jobs' rhythm in memory
(``core/scheduler.py``).
"""

from __future__ import annotations

from datetime import timedelta

from core.ownership.claims import process_lease
from core.ownership.leases import Leases

DUE = "due:"
ENDED = "-"  # the holder of a row whose run has ended


class JobRuns:
    def __init__(self, leases: Leases, heartbeat_seconds: float) -> None:
        self.leases = leases
        self.heartbeat_seconds = heartbeat_seconds

    def seconds_until_due(self, job: str) -> float:
        """How long until ``job`` is due here (0: now); while another living process is still
        running it, a heartbeat (look again then)."""
        row = self.leases.row(DUE + job)
        if row is None:
            return 0.0
        holder, due_at = row
        if holder not in (ENDED, self.leases.holder):  # a run under way elsewhere
            if not self._is_alive(holder):
                return 0.0
            return self.heartbeat_seconds
        return max(0.0, (due_at - self.leases.clock()).total_seconds())

    def started(self, job: str, interval_seconds: float) -> None:
        """This process starts a run of ``job`` (should its end not be recorded, the next is
        due ``interval_seconds`` from now)."""
        until = self.leases.clock() + timedelta(seconds=interval_seconds)
        self.leases.stamp(DUE + job, self.leases.holder, until)

    def ended(self, job: str, interval_seconds: float, *, cut_off: bool) -> None:
        """This process's run of ``job`` ended: the next is due ``interval_seconds`` from now,
        or at once when it was ``cut_off`` (a stop cancelled it)."""
        now = self.leases.clock()
        until = now if cut_off else now + timedelta(seconds=interval_seconds)
        self.leases.restamp(DUE + job, self.leases.holder, ENDED, until)

    def _is_alive(self, process: str) -> bool:
        """Whether ``process``'s heartbeat lease still runs (a stopped process deleted it)."""
        heartbeat = self.leases.row(process_lease(process))
        return heartbeat is not None and heartbeat[1] > self.leases.clock()


__all__ = ["DUE", "ENDED", "JobRuns"]
