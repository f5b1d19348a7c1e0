"""Time drand signature checks in Python (py_ecc), on the real rounds of
tests/fixtures/raffle/drand-rounds.json: one check per round with nothing cached, as a fresh
``python -m core raffle verify`` does. Prints one line per round and the mean per chain.

    .venv/bin/python scripts/measure_drand_checks.py [repeats]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.features.raffle.beacons import signatures as drand_signatures  # noqa: E402
from core.features.raffle.beacons.chains import DEFAULT, QUICKNET  # noqa: E402


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rounds = json.loads((ROOT / "tests/fixtures/raffle/drand-rounds.json").read_text())
    drand_signatures._ecc()  # the import (about a second) is not part of a check
    for name, chain in (("quicknet", QUICKNET), ("default", DEFAULT)):
        times = []
        for row in rounds[name]["rounds"]:
            for _ in range(repeats):
                drand_signatures._verified.cache_clear()
                drand_signatures._g1_point.cache_clear()
                drand_signatures._g2_point.cache_clear()
                started = time.perf_counter()
                drand_signatures.check_signature(
                    chain.scheme,
                    chain.public_key,
                    row["round"],
                    row["signature"],
                    row.get("previous_signature"),
                )
                times.append(time.perf_counter() - started)
            print(f"{name} round {row['round']}: {times[-1] * 1000:.0f} ms")  # noqa: T201
        print(  # noqa: T201
            f"{name}: mean {statistics.mean(times) * 1000:.0f} ms, "
            f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {len(times)}"
        )


if __name__ == "__main__":
    main()
