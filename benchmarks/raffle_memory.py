"""``python -m benchmarks.raffle_memory DATABASE_URL GUILD NOW VIEWERS``: the bot's side of a
big guild in a fresh process, for its memory: two watchtime ticks (the second credits every
present viewer and brings each to a full hour), the raffle's conversion of those hours, and
the close of the period (its whole ledger hashed). Prints one JSON line: RSS after the imports
(the bot with nothing to do yet) and the peak RSS, in MB.

Run by ``python -m benchmarks`` (benchmarks/raffle_close.py) on data it set up.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import datetime, timedelta
from pathlib import Path

BENCH_SECRET = secrets.token_hex(16)  # a run's own link secret: keys the raffle's admin pseudonyms


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (``VmRSS``: now; ``VmHWM``: its
    peak since its exec). Not ``getrusage``'s ru_maxrss: at exec the kernel folds into it the
    peak of the memory the process had before, which under vfork (as subprocess starts us) is
    the parent's; in a full ``make bench`` that was the benchmark's own peak, 196-209 MB,
    where this process's was 143 MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> int:
    import core.runtime  # noqa: F401 (the bot's imports: discord.py, Flask, the features)
    from core.config import RaffleSettings, WatchtimeSettings
    from core.features.raffle.service import RaffleService
    from core.features.watchtime.service import WatchtimeService
    from core.storage import db

    url, guild_id, now, viewers = (
        argv[0],
        int(argv[1]),
        datetime.fromisoformat(argv[2]),
        int(argv[3]),
    )
    idle = status_mb("VmRSS")
    engine = db.create_engine(url)
    later = now + timedelta(seconds=10)
    watch = WatchtimeService(engine, WatchtimeSettings(), clock=lambda: now)
    watch.tick(guild_id, now)
    credited = watch.tick(guild_id, later).credited_viewers
    raffle = RaffleService(engine, RaffleSettings(), clock=lambda: later, actor_secret=BENCH_SECRET)
    raffle.convert_watchtime(later)
    closing = raffle.periods.end(guild_id)
    engine.dispose()
    peak = status_mb("VmHWM")
    print(
        json.dumps(
            {
                "idle_mb": round(idle, 1),
                "peak_mb": round(peak, 1),
                "credited": credited,
                "eligible": len(closing.period.eligible or ()),
                "expected": viewers,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
