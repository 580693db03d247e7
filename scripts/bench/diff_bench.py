#!/usr/bin/env python3
"""Benchmark `ceap-templates diff`: two build folders (every environment, both layouts) and --base HEAD.

Cases, each a fresh process (what a reviewer or CI waits for: interpreter start, imports, work):
identical folders; the build against a changed copy (a table key schema, a removed export, a
widened role, a state added, code changed, a workflow stack removed: every consequence path
runs); and `--base HEAD` (temporary worktree + a build of HEAD + the diff). Then one in-process
run split into load, diff and rendering. Prints figures; asserts nothing. Target: under 1 s for
the diff of two folders on a 2-core machine.

    python scripts/bench/diff_bench.py [--runs 5] [--build build] [--no-base]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 1.0


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[:6]}... exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return elapsed


def _edit(path: Path, change: Any) -> None:
    template = json.loads(path.read_text("utf-8"))
    change(template)
    path.write_text(json.dumps(template, indent=2, sort_keys=True), "utf-8")


def _changed_copy(build: Path, target: Path) -> Path:
    """A copy of ``build`` with one change of every kind the diff classifies."""
    shutil.copytree(build, target)
    for env in sorted(p.parent.name for p in target.glob("*/manifest.json")):
        database = target / env / f"CeapDatabase-{env}.template.json"

        def key_schema(t: dict[str, Any]) -> None:
            t["Resources"]["CandidatesTableB438AE0C"]["Properties"]["KeySchema"][0]["AttributeName"] = "tenantId"
            t["Outputs"].pop("CandidatesTableName")

        _edit(database, key_schema)

        def workflow(t: dict[str, Any]) -> None:
            resources = t["Resources"]
            resources["ETLFunction"]["Properties"]["Code"]["S3Key"] = "lambda/ceap-handlers-" + "0" * 64 + ".zip"
            resources["ETLFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
                "Action"
            ].append("s3:DeleteBucket")
            states = resources["WorkflowStateMachine"]["Properties"]["Definition"]["States"]
            states["Audit"] = {"Type": "Pass", "End": True}

        _edit(target / env / "CeapWorkflow-batch.template.json", workflow)
    return target


def _in_process(old: Path, new: Path) -> dict[str, float]:
    started = time.perf_counter()
    from ceap_templates.diff import render_json, render_markdown
    from ceap_templates.diff.engine import diff_builds
    from ceap_templates.diff.loading import environments, load

    imported = time.perf_counter()
    old_build, new_build = load(old), load(new)
    loaded = time.perf_counter()
    report = diff_builds(old_build, new_build, environments(old_build, new_build), str(old), str(new))
    compared = time.perf_counter()
    render_markdown.render(report)
    render_json.render(report)
    rendered = time.perf_counter()
    return {
        "import ceap_templates.diff": imported - started,
        "load both builds": loaded - imported,
        f"diff ({report.stacks_compared} stacks, {len(report.changes)} changes)": compared - loaded,
        "render Markdown + JSON": rendered - compared,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", default="build", help="build folder (default: build)")
    parser.add_argument("--no-base", action="store_true", help="skip the --base HEAD case (needs git)")
    args = parser.parse_args()
    build = (ROOT / args.build).resolve()
    cli = [sys.executable, "-m", "ceap_templates", "diff"]
    with tempfile.TemporaryDirectory(prefix="ceap-diff-bench-") as scratch:
        changed = _changed_copy(build, Path(scratch) / "changed")
        cases = {
            "diff build build (identical)": [*cli, str(build), str(build)],
            "diff build changed-copy (markdown)": [*cli, str(build), str(changed)],
            "diff build changed-copy (json)": [*cli, str(build), str(changed), "--format", "json"],
        }
        if not args.no_base:
            cases["diff --base HEAD build"] = [*cli, "--base", "HEAD", str(build)]
        templates = len(list(build.rglob("*.template.json")))
        print(f"{templates} templates per build in {build}, {args.runs} runs each (fresh process per run)")
        print(f"{'case':38} {'median s':>9} {'min s':>7} {'max s':>7}")
        for command in cases.values():
            _wall(command)  # warm the file cache and the bytecode
        times: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(args.runs):
            for label, command in cases.items():
                times[label].append(_wall(command))
        for label, t in times.items():
            print(f"{label:38} {statistics.median(t):9.3f} {min(t):7.3f} {max(t):7.3f}")
        folders = statistics.median(times["diff build changed-copy (markdown)"])
        verdict = "within" if folders < TARGET_SECONDS else "OVER"
        print(f"two folders: {folders:.3f} s ({verdict} the {TARGET_SECONDS:.0f} s target)")
        print("\nin-process breakdown of one diff (build vs changed copy):")
        for phase, seconds in _in_process(build, changed).items():
            print(f"  {phase:48} {seconds:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
