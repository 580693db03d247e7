#!/usr/bin/env python3
"""Benchmark the deploy scripts on the local AWS: first deploy, no-op re-run, one-stack change, rollback.

Starts its own loopback emulator (scripts/local-aws.sh, this interpreter), deploys a temporary copy
of build/dev with scripts/deploy.sh, and prints wall seconds of each step and the aws CLI calls
each makes (CEAP_API_LOG: one line per call). Prints figures; asserts nothing. The first deploy
includes `ceap-templates validate` (cold cache); the later runs reuse its verdict.

    python scripts/bench/deploy_bench.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ceap_templates.local_aws.client_env import free_port, parse_env

ROOT = Path(__file__).resolve().parents[2]
ENV = "dev"
CHANGED = "CeapServingAPI-dev"


def _step(label: str, env: dict[str, str], work: Path, *args: str) -> tuple[float, list[str]]:
    log = work / f"{label}.calls"
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", *args],
        cwd=ROOT,
        env={**env, "CEAP_API_LOG": str(log)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{label}: {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return seconds, log.read_text().splitlines() if log.exists() else []


def _edit_one_stack(build: Path) -> None:
    """A one-line change to one template, recorded in the manifest as a rebuild would."""
    manifest_path = build / ENV / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["layouts"]["consolidated"]["stacks"][CHANGED]
    template = build / ENV / entry["template"]
    text = template.read_text().replace('"Description": "', '"Description": "Benchmark edit: ', 1)
    template.write_text(text)
    entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    entry["bytes"] = len(text.encode())
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ceap-deploy-bench-") as tmp:
        work = Path(tmp)
        build = work / "build"
        shutil.copytree(ROOT / "build" / ENV, build / ENV)
        port = free_port()
        base = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "CEAP_PYTHON": sys.executable,
            "CEAP_LOCAL_AWS_PYTHON": sys.executable,
            "CEAP_LOCAL_AWS_DIR": str(work / "emulator"),
            "CEAP_POLL_SECONDS": "0.2",
            "CEAP_RETRY_BASE_SECONDS": "1",
            "CEAP_LOG_DIR": str(work / "logs"),
            "CEAP_CACHE_DIR": str(work / "cache"),
            "CEAP_BACKUP_DIR": str(work / "backups"),
        }
        started = subprocess.run(
            ["bash", "scripts/local-aws.sh", "start", "--port", str(port)],
            cwd=ROOT,
            env=base,
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            raise SystemExit(f"local-aws.sh start failed: {started.stderr.strip()}")
        env = parse_env(started.stdout, base)
        try:
            deploy = ("scripts/deploy.sh", ENV, "--yes", "--build", str(build))
            figures = [("first deploy of dev (validate cold)", *_step("first", env, work, *deploy))]
            figures.append(("no-op re-run", *_step("noop", env, work, *deploy)))
            _edit_one_stack(build)
            figures.append((f"one-stack change ({CHANGED}, validate again)", *_step("change", env, work, *deploy)))
            rollback = ("scripts/rollback.sh", ENV, "--yes", "--build", str(build))
            figures.append(("rollback (4 stacks deleted)", *_step("rollback", env, work, *rollback)))
        finally:
            subprocess.run(
                ["bash", "scripts/local-aws.sh", "stop", "--port", str(port)], cwd=ROOT, env=base, capture_output=True
            )
    print(f"deploy scripts on the local AWS (127.0.0.1, {os.cpu_count()} cores); aws CLI calls per step")
    for label, seconds, calls in figures:
        print(f"  {label:<48} {seconds:7.1f} s  {len(calls):4d} calls")
    noop = figures[1][2]
    print(
        "  no-op re-run calls: "
        + ", ".join(
            f"{op} x{n}"
            for op, n in sorted(Counter(c.rsplit(" ", 1)[0] if c.count(" ") > 1 else c for c in noop).items())
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
