"""``--profile``: sample the gunicorn workers with py-spy under the max-throughput load.

py-spy (a dev requirement) records the Python stacks of the master and every worker without
stopping them (``--nonblocking``), only of threads holding the GIL (``--gil``): what the Python
side spends its CPU on. The samples are summed into the request's stages, then by function.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import loadgen
from benchmarks.webhooks import APP, HOST, ServerConfig, gunicorn

# A sample belongs to the first stage (in this order) one of whose functions is on its stack.
STAGES = (
    ("redis-py: publish EVALSHA", ("RedisStreamsBus.publish_delivery",)),
    ("RSA signature check", ("verify_signature",)),
    ("rest of the receiver", ("KickWebhookReceiver.receive",)),
    ("Flask and Werkzeug", ("Flask.wsgi_app",)),
    ("gunicorn: HTTP, sockets, dispatch", ("",)),
)
_FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass
class Profile:
    samples: int
    stages: list[tuple[str, float]]  # stage, share of samples
    functions: list[tuple[str, float]]  # function (file), share of samples on top of the stack


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['function']} ({path})"


def summarize(raw: str, top: int = 12) -> Profile:
    """Stage shares and the busiest functions from py-spy's ``--format raw`` output."""
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        names = [_frame_name(frame) for frame in frames]
        joined = ";".join(names)
        stage = next(label for label, marks in STAGES if any(m in joined for m in marks))
        stages[stage] += count
        leaves[names[-1]] += count
    if not total:
        return Profile(0, [], [])
    return Profile(
        total,
        [(label, stages[label] / total) for label, _ in STAGES],
        [(name, n / total) for name, n in leaves.most_common(top)],
    )


def profile_workers(
    config: ServerConfig,
    *,
    settings: Mapping[str, str],
    workdir: Path,
    requests: Sequence[bytes],
    concurrency: int,
    seconds: int = 8,
) -> Profile:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise RuntimeError("py-spy is not installed (it is in requirements-dev.txt)")
    output = workdir / "py-spy.txt"
    with gunicorn(config, APP, settings, workdir) as server:
        warm, rest = requests[:500], requests[500:]
        loadgen.closed_loop(HOST, server.port, warm, concurrency=concurrency)
        # Load first, then the sampler: py-spy records while requests are being answered.
        load = threading.Thread(
            target=loadgen.closed_loop,
            args=(HOST, server.port, rest),
            kwargs={"concurrency": concurrency},
        )
        load.start()
        try:
            subprocess.run(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--subprocesses",
                    "--nonblocking",
                    "--gil",
                    "--rate",
                    "200",
                    "--duration",
                    str(seconds),
                    "--format",
                    "raw",
                    "--output",
                    str(output),
                ],
                check=True,
                capture_output=True,
                timeout=seconds + 60,
            )
        finally:
            load.join(timeout=300)
    return summarize(output.read_text())
