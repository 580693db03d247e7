"""scripts/local-aws.sh driven as a subprocess: start, idempotence, status, stop, and bad input.

Bad input gets one line on stderr and a non-zero exit, leaves no process and no PID file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ceap_templates.local_aws.client_env import free_port, parse_env
from support.local_aws_server import SCRIPT, LocalAws, script_env

pytestmark = pytest.mark.emulator


def run(state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        env={**script_env(state), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie awaiting its reaper has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("local-aws: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_help__explains_commands_and_options(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    for word in (
        "start",
        "stop",
        "status",
        "--port",
        "--dry-run",
        "--yes",
        "AWS_ENDPOINT_URL",
        "CEAP_LOCAL_AWS_PYTHON",
    ):
        assert word in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "a command is needed"),
        (("launch",), "unknown argument 'launch'"),
        (("start", "--port", "0"), "--port needs a number 1-65535"),
        (("start", "--port", "http"), "--port needs a number 1-65535"),
        (("start", "stop"), "one command at a time"),
    ],
)
def test_bad_arguments__one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 2 and message in one_error_line(result)
    assert not list(tmp_path.glob("*.pid"))


def test_second_start__idempotent_same_environment(local_aws: LocalAws) -> None:
    again = run(local_aws.state_dir, "start", "--port", str(local_aws.port))
    assert again.returncode == 0
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{local_aws.port}" in again.stdout.splitlines()
    assert parse_env(again.stdout, {})["AWS_ENDPOINT_URL"] == local_aws.endpoint
    assert int((local_aws.state_dir / f"emulator-{local_aws.port}.pid").read_text()) == local_aws.pid
    status = run(local_aws.state_dir, "status", "--port", str(local_aws.port))
    assert (
        status.returncode == 0
        and f"running on http://127.0.0.1:{local_aws.port} (PID {local_aws.pid})" in status.stdout
    )


def test_start_on_a_busy_port__refused_without_pid_file(local_aws: LocalAws, tmp_path: Path) -> None:
    result = run(tmp_path, "start", "--port", str(local_aws.port))  # another state folder: not ours
    assert result.returncode == 1
    assert f"port {local_aws.port} on 127.0.0.1 is busy" in one_error_line(result)
    assert not list(tmp_path.glob("*.pid"))


def test_stop_with_nothing_running__one_line(tmp_path: Path) -> None:
    port = str(free_port())
    result = run(tmp_path, "stop", "--port", port)
    assert result.returncode == 1 and f"no emulator running on port {port}" in one_error_line(result)
    (tmp_path / f"emulator-{port}.pid").write_text("999999\n")  # a PID that is not running
    stale = run(tmp_path, "stop", "--port", port)
    assert stale.returncode == 1 and "stale PID file removed" in one_error_line(stale)
    assert not (tmp_path / f"emulator-{port}.pid").exists()
    status = run(tmp_path, "status", "--port", port)
    assert status.returncode == 3 and "not running" in status.stdout


def test_missing_dependency__one_line_nothing_started(tmp_path: Path) -> None:
    fake = tmp_path / "python-without-moto"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    port = str(free_port())
    result = run(tmp_path, "start", "--port", port, CEAP_LOCAL_AWS_PYTHON=str(fake))
    assert result.returncode == 1 and "lacks moto" in one_error_line(result)
    assert not list(tmp_path.glob("*.pid")) and not listening(int(port))


def test_emulator_dying_at_start_up__reported_no_pid_file_no_orphan(tmp_path: Path) -> None:
    # Passes the dependency check, then fails as a broken install would.
    fake = tmp_path / "python-that-crashes"
    fake.write_text('#!/bin/sh\n[ "$1" = -c ] && exit 0\necho "ImportError: moto is broken" >&2\nexit 3\n')
    fake.chmod(0o755)
    result = run(tmp_path, "start", "--port", str(free_port()), CEAP_LOCAL_AWS_PYTHON=str(fake))
    assert result.returncode == 1
    assert "exited during start-up: ImportError: moto is broken" in one_error_line(result)
    assert not list(tmp_path.glob("*.pid*"))


def test_start_stop__by_pid_and_nothing_left_listening(tmp_path: Path) -> None:
    port = free_port()
    dry = run(tmp_path, "start", "--port", str(port), "--dry-run")
    assert dry.returncode == 0 and "would start" in dry.stderr and not listening(port)

    started = run(tmp_path, "start", "--port", str(port))
    assert started.returncode == 0, started.stderr
    pid = int((tmp_path / f"emulator-{port}.pid").read_text())
    assert listening(port)
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in started.stdout.splitlines()
    env = parse_env(started.stdout, {})
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_DEFAULT_REGION"]) == ("test", "us-east-1")
    assert "AWS_SESSION_TOKEN" not in parse_env(started.stdout, {"AWS_SESSION_TOKEN": "real"})

    stopped = run(tmp_path, "stop", "--port", str(port))
    assert stopped.returncode == 0 and f"stopped PID {pid}" in stopped.stderr
    assert not (tmp_path / f"emulator-{port}.pid").exists()
    deadline = time.monotonic() + 5
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening(port)
    assert not running(pid)
