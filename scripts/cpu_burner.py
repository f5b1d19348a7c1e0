"""Keep the machine busy, for a bounded time: the load a shared developer machine or CI runner
has while the tests run (``make test-loaded``). Standard library only.

    python3 scripts/cpu_burner.py [--processes N] [--seconds S]

Starts N busy processes (default: twice the CPU cores) that spin until S seconds have passed
(default 3600), then exit by themselves. The parent waits for them; SIGTERM or SIGINT to the
parent ends them at once (the caller records the parent's PID and kills that, never by name).
A child also ends when its parent is gone (a parent killed with SIGKILL leaves none behind).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import time
from types import FrameType

CHECK_EVERY = 200_000  # loop turns between looks at the clock and the parent (a few ms)


def burn(seconds: float, parent: int) -> None:
    """Spin until ``seconds`` have passed or the process ``parent`` is no longer ours (a
    terminate from the parent ends it at once: the parent's handlers are not inherited)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which ends us
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and os.getppid() == parent:
        for _ in range(CHECK_EVERY):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--seconds", type=float, default=3600.0)
    args = parser.parse_args(argv)
    if args.processes < 1 or args.seconds <= 0:
        parser.error("--processes and --seconds must be positive")

    context = multiprocessing.get_context("fork")
    children = [
        context.Process(target=burn, args=(args.seconds, os.getpid()), daemon=True)
        for _ in range(args.processes)
    ]

    def stop(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()
        for child in children:
            child.join(timeout=5)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.start()
    sys.stderr.write(
        f"cpu_burner: {args.processes} busy processes for at most {args.seconds:g} s "
        f"(pid {os.getpid()})\n"
    )
    for child in children:
        child.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
