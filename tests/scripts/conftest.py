"""Drive the deploy scripts as subprocesses: against nothing (bad input) or the loopback emulator.

``emulator``: the session's local AWS (``local_aws`` of tests/support/local_aws_server.py, the compat
layer over moto). ``scripts``: runs ``scripts/NAME.sh`` with the emulator's environment, this
interpreter's ``aws`` and ``python`` first on PATH, temporary log/cache/backup folders, and an API
log (one line per aws CLI call) per run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
BUILD = ROOT / "build"


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    calls: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def calls_of(self, operation: str) -> list[str]:
        return [c for c in self.calls if c.split()[1:2] == [operation]]


@dataclass
class Scripts:
    """Runs the project's scripts with a fixed environment."""

    env: dict[str, str]
    work: Path

    def run(self, name: str, *args: str, extra_env: dict[str, str] | None = None, timeout: int = 600) -> Run:
        log = self.work / f"api-{time.monotonic_ns()}.log"
        env = {**self.env, "CEAP_API_LOG": str(log), **(extra_env or {})}
        started = time.monotonic()
        done = subprocess.run(
            ["bash", str(SCRIPTS / name), *args],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,  # no terminal: prompts must refuse or take --yes
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        calls = log.read_text().splitlines() if log.exists() else []
        return Run((name, *args), done.returncode, done.stdout, done.stderr, time.monotonic() - started, calls)

    def run_aws_deploy(self, stack: str, template: Path) -> None:
        """``aws cloudformation deploy`` (change sets): how a failed first create is usually left behind."""
        aws = shutil.which("aws", path=self.env["PATH"])
        assert aws, "aws CLI missing"
        args = ["cloudformation", "deploy", "--stack-name", stack, "--template-file", str(template)]
        subprocess.run([aws, *args], env=self.env, capture_output=True, text=True, timeout=300)

    def aws(self, *args: str) -> Any:
        """The real aws CLI with the scripts' environment; parsed JSON output."""
        aws = shutil.which("aws", path=self.env["PATH"])
        assert aws, "aws CLI missing"
        done = subprocess.run(
            [aws, *args, "--output", "json"], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"aws {' '.join(args)}: {done.stderr.strip()}"
        return json.loads(done.stdout) if done.stdout.strip() else None


def base_env(tmp: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "CEAP_PYTHON": sys.executable,
        "CEAP_POLL_SECONDS": "0.2",
        "CEAP_RETRY_BASE_SECONDS": "1",
        "CEAP_LOG_DIR": str(tmp / "logs"),
        "CEAP_CACHE_DIR": str(tmp / "cache"),
        "CEAP_BACKUP_DIR": str(tmp / "backups"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture(scope="session")
def offline_scripts(tmp_path_factory: pytest.TempPathFactory) -> Scripts:
    """Scripts with an endpoint nobody listens on: any AWS call fails fast (bad-input tests)."""
    tmp = tmp_path_factory.mktemp("offline")
    env = base_env(tmp)
    env.update(
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # discard port: connection refused
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return Scripts(env, tmp)


@pytest.fixture(scope="session")
def emulator_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment lines of the session's emulator (AWS_ENDPOINT_URL, credentials, region)."""
    local_aws = request.getfixturevalue("local_aws")
    return dict(local_aws.env)


def emulator_scripts(emulator_env: dict[str, str], tmp: Path) -> Scripts:
    """Scripts against an emulator: its endpoint, dummy credentials and region win over the caller's."""
    env = {**emulator_env, **base_env(tmp)}
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        if key in emulator_env:
            env[key] = emulator_env[key]
    env.pop("AWS_SESSION_TOKEN", None)
    return Scripts(env, tmp)


@pytest.fixture(scope="session")
def scripts(emulator_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Scripts:
    return emulator_scripts(emulator_env, tmp_path_factory.mktemp("scripts"))


@pytest.fixture(scope="session")
def build_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private copy of the committed build/ that tests may edit."""
    target = tmp_path_factory.mktemp("build") / "build"
    shutil.copytree(BUILD, target)
    yield target
