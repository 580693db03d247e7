"""scripts/rehearse-migration.sh as a subprocess: end to end on a loopback emulator, and its refusals.

The end-to-end run gets an emulator of its own (started once for this module, stopped by its PID):
the rehearsal starts from an account without the product's stacks, as a rehearsal account does,
while the session emulator holds what the deploy tests left there. Expected values come from the
issue and docs/migration.md ("Rehearsal"): the eleven phases, 20 program configs, N/10 score-cache
items and 50 deduplication items per seed, and every table's count unchanged after cleanup and
rollback.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.local_aws_server import start_emulator, stop_emulator

from .conftest import Scripts, emulator_scripts

pytestmark = pytest.mark.xdist_group("local_aws")


@pytest.mark.parametrize("endpoint", ["", "https://cloudformation.us-east-1.amazonaws.com", "http://10.0.0.5:4566"])
def test_non_loopback_endpoint__exit_2_before_any_call(offline_scripts: Scripts, endpoint: str) -> None:
    env = {"AWS_ENDPOINT_URL": endpoint}
    run = offline_scripts.run("rehearse-migration.sh", "dev", "--yes", extra_env=env)
    assert run.returncode == 2, run.output
    assert f"AWS_ENDPOINT_URL='{endpoint}' is not a loopback URL" in run.stderr
    assert "Traceback" not in run.output
    assert run.calls == []  # nothing asked of any account


def test_help_and_bad_items(offline_scripts: Scripts) -> None:
    assert offline_scripts.run("rehearse-migration.sh", "--help").returncode == 0
    run = offline_scripts.run("rehearse-migration.sh", "dev", "--items", "0", "--yes")
    assert run.returncode == 2
    assert "--items needs a positive number (got '0')" in run.stderr


PHASES = (
    "deploy-legacy",
    "seed",
    "backup",
    "batch-legacy",
    "handover",
    "cleanup-refused",
    "deploy-new",
    "batch-new",
    "validate",
    "cleanup",
    "rollback",
)


@pytest.fixture(scope="module")
def rehearsal_scripts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripts]:
    emulator = start_emulator(tmp_path_factory.mktemp("rehearsal-aws"))
    try:
        yield emulator_scripts(emulator.env, tmp_path_factory.mktemp("rehearsal"))
    finally:
        stop_emulator(emulator)


@pytest.mark.emulator
def test_rehearsal_dev__every_phase_passes_and_every_table_keeps_its_items(rehearsal_scripts: Scripts) -> None:
    run = rehearsal_scripts.run("rehearse-migration.sh", "dev", "--yes", "--items", "1000", timeout=1800)
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.output[-4000:]
    assert last.startswith("rehearsal dev: ") and last.endswith("| ok"), last
    timings, counts, _ = last.removeprefix("rehearsal dev: ").split(" | ")
    assert [t.rsplit(" ", 1)[0] for t in timings.split(", ")] == list(PHASES)
    assert counts.split(", ") == [
        "Candidates 1000->1000",
        "ProgramConfig 20->20",
        "ScoreCache 100->100",
        "ceap-event-deduplication 50->50",
    ]
    # The cleanup went through its checks and deleted the six legacy-only stacks, then the rollback
    # handed the kept names back: the legacy workflow stacks exist again, the new ones do not.
    stacks = {s["StackName"] for s in rehearsal_scripts.aws("cloudformation", "describe-stacks")["Stacks"]}
    assert "CeapDataPlatform-dev" not in stacks and "CeapServingAPI-dev" not in stacks
    assert {"CeapOrchestration-dev", "CeapReactiveWorkflow-dev", "CeapDatabase-dev"} <= stacks
