#!/usr/bin/env python3
"""Benchmark `ceap-templates validate build/` against plain `cfn-lint` on the same template files.

Each run is a fresh process (what CI waits for: interpreter start, imports, work). cfn-lint runs
with the options the validation uses (informational rules on, lint_build.IGNORED_RULES off, the
manifests' regions), so the difference is what the custom rules and statelint add. Then one
in-process run splits our time into load, custom rules and the cfn-lint call. Prints figures;
asserts nothing. Target: validate <= 1.3 x cfn-lint alone.

    python scripts/bench/validate_bench.py [--runs 5] [--build build]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_RATIO = 1.3


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command[:4]}... exited {completed.returncode}:\n{completed.stdout}{completed.stderr}")
    return elapsed


def _cfn_lint_command(build: Path) -> list[str]:
    from ceap_templates.lint_build import IGNORED_RULES, template_files

    regions = sorted({json.loads(m.read_text())["region"] for m in build.glob("*/manifest.json")}) or ["us-east-1"]
    cli = Path(sys.executable).with_name("cfn-lint")
    options = ["--include-checks", "I", "--ignore-checks", *IGNORED_RULES, "--regions", *regions]
    return [str(cli), *options, "--", *map(str, template_files(build))]


def _in_process(build: Path) -> dict[str, float]:
    """One validation in this process, timed per phase (cfn-lint's import counted in its phase)."""
    started = time.perf_counter()
    from ceap_templates.validation.engine import run
    from ceap_templates.validation.model import load_build
    from ceap_templates.validation.rules import all_rules

    imported = time.perf_counter()
    model = load_build(build)
    loaded = time.perf_counter()
    custom = [r for r in all_rules() if not r.external]
    findings = run(model, custom)
    checked = time.perf_counter()
    findings += run(model, [r for r in all_rules() if r.external])
    linted = time.perf_counter()
    if findings:
        raise SystemExit(f"{build}: {len(findings)} findings; benchmark a clean build")
    return {
        "import ceap_templates.validation": imported - started,
        "load build (parse manifest + templates once)": loaded - imported,
        f"{len(custom)} custom rules (statelint included)": checked - loaded,
        "cfn-lint, one call for all templates": linted - checked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", default="build", help="build folder (default: build)")
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    templates = len(list(build.rglob("*.template.json")))
    cases = {
        "ceap-templates validate": [sys.executable, "-m", "ceap_templates", "validate", str(build), "--quiet"],
        "cfn-lint (same files, same options)": _cfn_lint_command(build),
    }
    print(f"{templates} templates in {build}, {args.runs} runs each (fresh process per run)")
    print(f"{'case':38} {'median s':>9} {'min s':>7} {'max s':>7}")
    for command in cases.values():
        _wall(command)  # warm the file cache and the bytecode
    # Interleaved, so a load change on a shared machine hits both cases alike.
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, command in cases.items():
            times[label].append(_wall(command))
    medians = {label: statistics.median(t) for label, t in times.items()}
    for label, t in times.items():
        print(f"{label:38} {medians[label]:9.3f} {min(t):7.3f} {max(t):7.3f}")
    ratio = medians["ceap-templates validate"] / medians["cfn-lint (same files, same options)"]
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"ratio validate / cfn-lint: {ratio:.2f} ({verdict} the {TARGET_RATIO}x target)")
    print("\nin-process breakdown of one validation:")
    for phase, seconds in _in_process(build).items():
        print(f"  {phase:48} {seconds:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
