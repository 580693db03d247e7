#!/usr/bin/env python3
"""Benchmark `ceap-templates build`: wall time and peak memory, one environment and all.

Each run is a fresh process (what a user waits for: interpreter start, imports, build, write).
Prints figures; asserts nothing. Targets (2 cores): one env < 0.5 s, all < 1.5 s, peak < 150 MB.

    python scripts/bench/build_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: exec the CLI so its RSS is the build's own
            os.chdir(ROOT)
            os.execv(sys.executable, [sys.executable, "-m", "ceap_templates", "build", "--quiet", "--out", out, *args])
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"build {args} failed")
        return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    cases = {"one environment (dev)": ["--env", "dev"], "all environments": []}
    print(f"{'case':28} {'median s':>9} {'min s':>7} {'peak MB':>8}")
    for label, extra in cases.items():
        _run(extra)  # warm the file cache
        results = [_run(extra) for _ in range(args.runs)]
        times = [t for t, _ in results]
        peak = max(m for _, m in results)
        print(f"{label:28} {statistics.median(times):9.3f} {min(times):7.3f} {peak:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
