"""The README's "Local emulator" commands, run verbatim in bash against an emulator of their own.

The block starts its own emulator (``CEAP_LOCAL_AWS_PORT``: a free port; state in a temporary
folder), deploys build/dev with ``aws cloudformation deploy``, sends the example request to the
realtime workflow's queue and stops the emulator. Expected results come from the configuration
(config/environments.yaml: the realtime workflow's steps ETL, Filter, Score, Store, Reactive) and
the example program (scripts/local-aws/program-retail.json: minOrderValue 10, e-mail required),
not from the emulator.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ceap_templates.local_aws.client_env import free_port
from support.local_aws_server import ROOT, SCRIPT, script_env

pytestmark = pytest.mark.emulator

REALTIME_STAGES = ["ETL", "Filter", "Reactive", "Score", "Store"]  # sorted as `aws s3 ls` lists them


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Local emulator") :]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, "the Local emulator section has no bash block"
    return match.group(1)


def test_readme_block__deploys_and_runs_the_realtime_workflow(tmp_path: Path) -> None:
    work = tmp_path / "clone"
    work.mkdir()
    for name in ("build", "scripts", "lambdas", "glue", "setup.cfg"):
        (work / name).symlink_to(ROOT / name)
    port = free_port()
    env = {
        **script_env(tmp_path / "state"),
        "CEAP_LOCAL_AWS_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    block = readme_block()
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", "--port", str(port)], env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]

    listed = re.findall(r"executions/([0-9a-f]+)/(\w+)/output\.json", result.stdout)
    assert sorted(stage for _, stage in listed) == REALTIME_STAGES
    assert len({execution for execution, _ in listed}) == 1
    assert re.search(r'"Count": 1\b', result.stdout)
    for importer in ("CeapDataPlatform-dev", "CeapWorkflow-batch", "CeapWorkflow-realtime"):
        assert f'"{importer}"' in result.stdout
    assert "local-aws: stopped" in result.stderr
    assert not (tmp_path / "state" / f"emulator-{port}.pid").exists()
