"""Opt-in tier: deploy -> smoke test -> rollback in a real AWS account (issue 10).

Runs only with CEAP_AWS_TESTS=1, real credentials in the environment (a profile or keys; not the
tox dummies) and no AWS_ENDPOINT_URL. It deploys build/ENV (CEAP_AWS_TEST_ENV, default dev) to
the account the build names, so point the credentials at that account. Costs a few cents.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = os.environ.get("CEAP_AWS_TEST_ENV", "dev")
DUMMY_KEYS = {"testing", "test", ""}


def _opted_in() -> str | None:
    """None when the tier may run, else why not."""
    if os.environ.get("CEAP_AWS_TESTS") != "1":
        return "real-account tier is opt-in: set CEAP_AWS_TESTS=1 with credentials for the build's account"
    if os.environ.get("AWS_ENDPOINT_URL"):
        return "AWS_ENDPOINT_URL is set: the real-account tier never runs against an emulator"
    if os.environ.get("AWS_ACCESS_KEY_ID", "") in DUMMY_KEYS and not os.environ.get("AWS_PROFILE"):
        return "no real credentials (AWS_PROFILE or non-dummy AWS_ACCESS_KEY_ID)"
    return None


pytestmark = [pytest.mark.aws, pytest.mark.skipif(_opted_in() is not None, reason=str(_opted_in()))]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CEAP_PYTHON": sys.executable}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / args[0]), *args[1:]],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=3600,
    )


def test_deploy_smoke_rollback_in_a_real_account() -> None:
    deployed = _run("deploy.sh", ENV, "--yes")
    try:
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr
        smoke = _run("smoke-test.sh", ENV, "--workflow", "realtime")
        assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr
    finally:
        rollback = _run("rollback.sh", ENV, "--yes")
    assert rollback.returncode == 0, rollback.stdout[-3000:] + rollback.stderr
