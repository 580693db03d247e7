"""One loopback emulator per test session, started and stopped through ``scripts/local-aws.sh``.

Register with ``pytest_plugins = ["support.local_aws_server"]`` (tests/conftest.py does).
Fixtures:

- ``local_aws`` (session): the emulator with the compat layer on a free 127.0.0.1 port;
- ``stock_aws`` (session, started only when a test asks): stock moto (``--no-compat``), which
  gap tests use to show what the compat layer changes.

Both yield a :class:`LocalAws`: ``endpoint``, ``env`` (the process environment plus the lines
``start`` prints: AWS_ENDPOINT_URL, dummy credentials, region) for subprocesses, ``aws(...)`` to run
the real ``aws`` CLI, ``client(service)`` for boto3. The finalizer stops the emulator by its PID,
also when tests fail. The emulator runs on this interpreter (``CEAP_LOCAL_AWS_PYTHON``), so tox's
test environment pays no second install; its state (PID file, log) lives in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local-aws.sh"


def aws_cli() -> str:
    """The ``aws`` executable of this environment (tox installs awscli), else the one on PATH."""
    found = shutil.which("aws", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        raise RuntimeError("the aws CLI is not installed (pip install -r scripts/local-aws-requirements.txt)")
    return found


def script_env(state_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CEAP_LOCAL_AWS_PYTHON": os.environ.get("CEAP_LOCAL_AWS_PYTHON", sys.executable),
        "CEAP_LOCAL_AWS_DIR": str(state_dir),
    }


@dataclass(frozen=True)
class LocalAws:
    """A running emulator."""

    port: int
    pid: int
    env: dict[str, str]
    state_dir: Path
    startup_seconds: float

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            region_name=self.env["AWS_DEFAULT_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def aws(
        self, *args: str, check: bool = True, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``aws`` CLI against the emulator (``check``: raise with its stderr on failure)."""
        result = subprocess.run(
            [aws_cli(), *args], env=env or self.env, cwd=cwd or ROOT, capture_output=True, text=True, timeout=300
        )
        if check and result.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
        return result


def start_emulator(state_dir: Path, *, compat: bool = True, port: int | None = None) -> LocalAws:
    # Imported here: the glue tox env loads this plugin without the package installed.
    from ceap_templates.local_aws.client_env import free_port, parse_env

    port = port or free_port()
    args = ["bash", str(SCRIPT), "start", "--port", str(port), *([] if compat else ["--no-compat"])]
    started = time.monotonic()
    result = subprocess.run(args, env=script_env(state_dir), capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        raise RuntimeError(f"local-aws.sh start failed ({result.returncode}): {result.stderr.strip()}")
    elapsed = time.monotonic() - started
    pid = int((state_dir / f"emulator-{port}.pid").read_text())
    return LocalAws(port, pid, parse_env(result.stdout, dict(os.environ)), state_dir, elapsed)


def stop_emulator(emulator: LocalAws) -> None:
    """Stop by PID through the script; if that fails, signal the recorded PID directly."""
    result = subprocess.run(
        ["bash", str(SCRIPT), "stop", "--port", str(emulator.port)],
        env=script_env(emulator.state_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        with contextlib.suppress(ProcessLookupError):
            os.kill(emulator.pid, signal.SIGTERM)


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    emulator = start_emulator(tmp_path_factory.mktemp("local-aws"))
    try:
        yield emulator
    finally:
        stop_emulator(emulator)


@pytest.fixture(scope="session")
def stock_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    emulator = start_emulator(tmp_path_factory.mktemp("stock-aws"), compat=False)
    # Stock moto answers some calls with HTTP 500: no retries with back-off, the first answer is the proof.
    emulator.env["AWS_MAX_ATTEMPTS"] = "1"
    try:
        yield emulator
    finally:
        stop_emulator(emulator)
