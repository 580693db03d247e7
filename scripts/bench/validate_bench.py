#!/usr/bin/env python3
"""Benchmark `ceap-templates validate` against plain cfn-lint, side by side on the same files.

Cases, each a fresh process (what a developer waits for: interpreter start, imports, work), on a
scratch copy of the build:

1. plain cfn-lint, serial, same files and options as the validation (informational rules on,
   `validation.cfn_lint.IGNORED_RULES` off, the manifests' regions);
2. `validate` cold: empty cache (`XDG_CACHE_HOME` a new empty folder);
3. `validate` warm: nothing changed;
4. `validate` after one template changed (its manifest entry updated, as a rebuild would), plus
   plain cfn-lint on that one file: the target is 2 s on top of it.

Prints figures and the targets on 2 cores (cold <= 0.6 x plain cfn-lint, warm <= 1 s, one changed
<= 2 s + its cfn-lint time); asserts nothing.

    python scripts/bench/validate_bench.py [--runs 1] [--build build]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHANGED = "CeapWorkflow-realtime.template.json"


def _wall(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{command[:4]}... exited {completed.returncode}:\n{completed.stdout}{completed.stderr}")
    return elapsed


def _cfn_lint(build: Path, files: list[Path]) -> list[str]:
    from ceap_templates.validation.cfn_lint import IGNORED_RULES

    regions = sorted({json.loads(m.read_text())["region"] for m in build.glob("*/manifest.json")}) or ["us-east-1"]
    cli = Path(sys.executable).with_name("cfn-lint")
    options = ["--include-checks", "I", "--ignore-checks", *IGNORED_RULES, "--regions", *regions]
    return [str(cli), *options, "--", *map(str, files)]


def _change_one_template(build: Path) -> Path:
    """Edit one template's Description and reseal its manifest entry (sha256, bytes)."""
    path = next(build.glob(f"*/{CHANGED}"))
    template = json.loads(path.read_text("utf-8"))
    template["Description"] = template.get("Description", "") + f" (bench {time.time_ns()})"
    data = (json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
    path.write_bytes(data)
    manifest_path = path.parent / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    for layout in manifest["layouts"].values():
        for entry in layout["stacks"].values():
            if entry["template"] == CHANGED:
                entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
    return path


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per case (default 1: the machine is shared)")
    parser.add_argument("--build", default="build", help="build folder (default: build)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="ceap-validate-bench-"))
    try:
        build = scratch / "build"
        shutil.copytree((ROOT / args.build).resolve(), build)
        files = sorted(build.rglob("*.template.json"))
        validate = [sys.executable, "-m", "ceap_templates", "validate", str(build), "--quiet"]
        load = os.getloadavg()
        print(f"{len(files)} templates, {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        times: dict[str, list[float]] = {}
        for run in range(args.runs):
            cache = scratch / f"cache-{run}"
            env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
            times.setdefault("plain cfn-lint, serial", []).append(_wall(_cfn_lint(build, files)))
            times.setdefault("validate cold (empty cache)", []).append(_wall(validate, env))
            times.setdefault("validate warm (nothing changed)", []).append(_wall(validate, env))
            changed = _change_one_template(build)
            times.setdefault("validate, one template changed", []).append(_wall(validate, env))
            times.setdefault("plain cfn-lint on that template", []).append(_wall(_cfn_lint(build, [changed])))
        medians = {label: _median(samples) for label, samples in times.items()}
        print(f"{'case':36} {'median s':>9} {'min s':>7} {'max s':>7}")
        for label, samples in times.items():
            print(f"{label:36} {medians[label]:9.2f} {min(samples):7.2f} {max(samples):7.2f}")
        plain = medians["plain cfn-lint, serial"]
        cold = medians["validate cold (empty cache)"]
        warm = medians["validate warm (nothing changed)"]
        one = medians["validate, one template changed"]
        one_lint = medians["plain cfn-lint on that template"]
        print(f"cold / plain cfn-lint: {cold / plain:.2f} (target <= 0.60)")
        print(f"warm: {warm:.2f} s (target <= 1 s)")
        print(f"one changed: {one:.2f} s; target <= 2 s + {one_lint:.2f} s = {2 + one_lint:.2f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
