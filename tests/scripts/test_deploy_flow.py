"""deploy -> no-op -> one-stack change -> backup -> smoke -> validate -> rollback, on the local AWS.

One environment (dev, from a private copy of build/) is deployed once and reused in order: the
tests of this module depend on the ones before them (pytest keeps file order). Expected values
come from the committed build's manifest (what must be deployed) and from hashing the template
files themselves (what the tags must say), never from the scripts' own output parsing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import Run, Scripts

pytestmark = pytest.mark.emulator

ENV = "dev"
CHANGED = "CeapServingAPI-dev"


def manifest(build: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((build / ENV / "manifest.json").read_text())
    return data


def wave_stacks(build: Path) -> list[str]:
    return [name for wave in manifest(build)["deploy"]["waves"] for name in wave]


def template_path(build: Path, name: str) -> Path:
    for layout in manifest(build)["deploy"]["layouts"]:
        entry = manifest(build)["layouts"][layout]["stacks"].get(name)
        if entry:
            return build / ENV / entry["template"]
    raise KeyError(name)


def live_stacks(scripts: Scripts) -> dict[str, dict[str, Any]]:
    stacks = scripts.aws("cloudformation", "describe-stacks")["Stacks"]
    return {s["StackName"]: s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"}


def tag(stack: dict[str, Any], key: str) -> str | None:
    return next((t["Value"] for t in stack.get("Tags", []) if t["Key"] == key), None)


def mutating(run: Run) -> list[str]:
    return [
        c for c in run.calls if c.split()[1] in {"create-stack", "update-stack", "create-change-set", "delete-stack"}
    ]


@pytest.fixture(scope="module")
def first(scripts: Scripts, build_copy: Path) -> Run:
    run = scripts.run("deploy.sh", ENV, "--yes", "--build", str(build_copy))
    assert run.returncode == 0, run.output
    return run


def test_first_deploy__every_stack_of_the_waves_created_with_its_template(
    scripts: Scripts, build_copy: Path, first: Run
) -> None:
    live = live_stacks(scripts)
    for name in wave_stacks(build_copy):
        assert live[name]["StackStatus"] == "CREATE_COMPLETE", name
        digest = hashlib.sha256(template_path(build_copy, name).read_bytes()).hexdigest()
        assert tag(live[name], "ceap:template-sha256") == digest, name
    assert sorted(c.split()[2] for c in first.calls_of("create-stack")) == sorted(wave_stacks(build_copy))
    # The table lists each stack with its action; waves ran in order (database first).
    for name in wave_stacks(build_copy):
        assert any(line.startswith(name) and " created " in line for line in first.stdout.splitlines()), name
    assert first.stdout.index("wave 1 complete") < first.stdout.index("wave 2: ")


def test_second_run__changes_nothing_and_is_much_cheaper(scripts: Scripts, build_copy: Path, first: Run) -> None:
    before = {n: s.get("LastUpdatedTime") for n, s in live_stacks(scripts).items()}
    run = scripts.run("deploy.sh", ENV, "--yes", "--build", str(build_copy))
    assert run.returncode == 0, run.output
    assert mutating(run) == []
    assert not run.calls_of("put-object")
    assert {n: s.get("LastUpdatedTime") for n, s in live_stacks(scripts).items()} == before
    for name in wave_stacks(build_copy):
        assert any(line.startswith(name) and " unchanged " in line for line in run.stdout.splitlines()), name
    # A no-op reads: identity, one describe-stacks, the three code objects (README "Deploying").
    assert len(run.calls) <= 6, run.calls
    assert len(run.calls) * 3 <= len(first.calls), (run.calls, first.calls)
    assert run.seconds < first.seconds, (run.seconds, first.seconds)


def test_one_line_change__updates_only_that_stack(scripts: Scripts, build_copy: Path) -> None:
    path = template_path(build_copy, CHANGED)
    text = path.read_text()
    edited = text.replace('"Description": "', '"Description": "Edited: ', 1)
    assert edited != text
    path.write_text(edited)
    data = manifest(build_copy)  # what a rebuild records for the edited template
    entry = data["layouts"]["consolidated"]["stacks"][CHANGED]
    entry["sha256"] = hashlib.sha256(edited.encode()).hexdigest()
    entry["bytes"] = len(edited.encode())
    (build_copy / ENV / "manifest.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    run = scripts.run("deploy.sh", ENV, "--yes", "--build", str(build_copy))
    assert run.returncode == 0, run.output
    assert mutating(run) == [f"cloudformation update-stack {CHANGED}"], run.calls
    live = live_stacks(scripts)
    assert live[CHANGED]["StackStatus"] == "UPDATE_COMPLETE"
    assert tag(live[CHANGED], "ceap:template-sha256") == entry["sha256"]
    for name in wave_stacks(build_copy):
        if name != CHANGED:
            assert live[name]["StackStatus"] == "CREATE_COMPLETE", name
    assert any(line.startswith(CHANGED) and " updated " in line for line in run.stdout.splitlines())


def test_backup__writes_every_deployed_template(scripts: Scripts, build_copy: Path, tmp_path: Path) -> None:
    run = scripts.run("backup-templates.sh", ENV, "--out", str(tmp_path), "--build", str(build_copy))
    assert run.returncode == 0, run.output
    (folder,) = tmp_path.glob(f"{ENV}-*")
    for name in wave_stacks(build_copy):
        saved = json.loads((folder / name / "template.json").read_text())
        assert saved == json.loads(template_path(build_copy, name).read_text()), name
        assert (folder / name / "parameters.json").is_file() and (folder / name / "tags.json").is_file()
    tables = (folder / "tables.tsv").read_text().splitlines()
    # build/dev CeapDatabase-dev: the three tables of docs/legacy-system.md, dev names.
    assert {line.split("\t")[1] for line in tables[1:] if line.startswith("CeapDatabase-dev")} == {
        "Candidates-dev",
        "ProgramConfig-dev",
        "ScoreCache-dev",
    }


def test_validate_resources__every_legacy_resource_has_its_counterpart(scripts: Scripts, build_copy: Path) -> None:
    run = scripts.run("validate-resources.sh", ENV, "--build", str(build_copy))
    # Alarms and policies included: the emulator records the types moto does not model (cfn_unmodelled).
    assert [line for line in run.stdout.splitlines() if line.startswith("GAP")] == [], run.output
    assert run.returncode == 0, run.output
    # docs/legacy-system.md logical IDs that moved: the ETL function (legacy CeapEtlWorkflow) into DataPlatform.
    assert (
        "CeapEtlWorkflow-dev/ETLLambdaFunction49DD508A -> CeapDataPlatform-dev/ETLLambdaFunction49DD508A" in run.stdout
    )
    assert "same table Candidates-dev" in run.stdout


def test_validate_resources__a_missing_stack_is_a_gap(scripts: Scripts, build_copy: Path) -> None:
    copy = build_copy.parent / "renamed"
    if not copy.exists():
        import shutil

        shutil.copytree(build_copy, copy)
        data = manifest(copy)
        # Pretend the build expects the ETL function in a stack that is not deployed.
        stacks = data["layouts"]["consolidated"]["stacks"]
        stacks["CeapDataPlatform-other"] = stacks.pop("CeapDataPlatform-dev")
        data["deploy"]["waves"] = [
            [n.replace("CeapDataPlatform-dev", "CeapDataPlatform-other") for n in w] for w in data["deploy"]["waves"]
        ]
        (copy / ENV / "manifest.json").write_text(json.dumps(data))
    run = scripts.run("validate-resources.sh", ENV, "--build", str(copy))
    assert run.returncode == 1, run.output
    assert "GAP  stack CeapDataPlatform-other is NONE" in run.stdout


#: An operator's program configuration and a request with inline records (README "Local emulator").
PROGRAM_ITEM = Path(__file__).resolve().parents[2] / "scripts" / "local-aws" / "program-retail.json"
REQUEST = Path(__file__).resolve().parents[2] / "scripts" / "local-aws" / "request.json"
#: docs/data.md stages of each pipeline, in hand-over order.
STAGES = {None: ["ETL", "Filter", "Score", "Store"], "realtime": ["ETL", "Filter", "Score", "Store", "Reactive"]}


@pytest.mark.parametrize("workflow", [None, "realtime"], ids=["batch-ingestion", "realtime-workflow"])
def test_smoke__follows_every_stage_to_its_output_and_the_candidates(
    scripts: Scripts, build_copy: Path, workflow: str | None
) -> None:
    scripts.aws("dynamodb", "put-item", "--table-name", "ProgramConfig-dev", "--item", f"file://{PROGRAM_ITEM}")
    args = ["--workflow", workflow] if workflow else []
    run = scripts.run(
        "smoke-test.sh", ENV, *args, "--request", str(REQUEST), "--timeout", "120", "--build", str(build_copy)
    )
    assert run.returncode == 0, run.output
    shown = [line.split("s3://", 1)[1].split("/")[-2] for line in run.stdout.splitlines() if "/output.json" in line]
    assert shown[: len(STAGES[workflow])] == STAGES[workflow], run.stdout
    # request.json: C1 qualifies (e-mail eligible, order 80 >= minOrderValue); its candidate is listed.
    assert "CUSTOMER#C1" in run.stdout, run.stdout
    # config/environments.yaml: dev has alertsUnsubscribed: true (issue 14 item 1).
    assert f"warning: alerts of {ENV} reach no one: no alarmEmail (alertsUnsubscribed: true)" in run.output, run.output


def test_smoke__names_the_stage_that_failed(scripts: Scripts, build_copy: Path, tmp_path: Path) -> None:
    request = json.loads(REQUEST.read_text())
    request["programId"] = "unconfigured"  # no ProgramConfig item: ETL refuses it (docs/data.md "ETL")
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    run = scripts.run("smoke-test.sh", ENV, "--request", str(path), "--timeout", "90", "--build", str(build_copy))
    assert run.returncode == 1, run.output
    assert "FAILED: stage ETL failed" in run.stderr, run.output


def test_rollback__leaves_only_the_database_stack_with_its_items(scripts: Scripts, build_copy: Path) -> None:
    item = {"PK": {"S": "CUSTOMER#smoke"}, "SK": {"S": "PROGRAM#retail#SUBJECT#B0"}}
    scripts.aws("dynamodb", "put-item", "--table-name", "Candidates-dev", "--item", json.dumps(item))
    run = scripts.run("rollback.sh", ENV, "--yes", "--build", str(build_copy))
    assert run.returncode == 0, run.output
    live = live_stacks(scripts)
    assert [n for n in wave_stacks(build_copy) if n in live] == ["CeapDatabase-dev"]
    got = scripts.aws("dynamodb", "get-item", "--table-name", "Candidates-dev", "--key", json.dumps(item))
    assert got["Item"] == item
    assert "rollback of dev done in" in run.stdout


def test_broken_wave_1_stack__named_and_no_wave_2_stack_created(scripts: Scripts) -> None:
    """staging's database stack cannot be created: its export name is already taken in the region."""
    env = "staging"
    data = json.loads((Path(__file__).resolve().parents[2] / "build" / env / "manifest.json").read_text())
    (first_wave, *later) = data["deploy"]["waves"]
    (database,) = first_wave
    export = data["layouts"]["consolidated"]["stacks"][database]["exports"][0]
    squatter = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Taken": {"Value": {"Ref": "Topic"}, "Export": {"Name": export}}},
    }
    scripts.aws(
        "cloudformation", "create-stack", "--stack-name", "CeapSquatter", "--template-body", json.dumps(squatter)
    )
    try:
        run = scripts.run("deploy.sh", env, "--yes")
        assert run.returncode == 1, run.output
        assert f"{database}" in run.stderr and "did not complete" in run.stderr
        assert "scripts/rollback.sh staging" in run.stdout
        live = live_stacks(scripts)
        assert [n for wave in later for n in wave if n in live] == []  # rollback removed dev's workflow stacks
        assert [c.split()[2] for c in run.calls_of("create-stack")] == [database], run.calls  # wave 2 never started
    finally:
        scripts.aws("cloudformation", "delete-stack", "--stack-name", database)
        scripts.aws("cloudformation", "delete-stack", "--stack-name", "CeapSquatter")


def test_review_in_progress_left_by_a_failed_change_set__replaced(scripts: Scripts, tmp_path: Path) -> None:
    """AWS: a CREATE change set that fails (missing import) leaves an empty REVIEW_IN_PROGRESS stack."""
    env = "staging"
    data = json.loads((Path(__file__).resolve().parents[2] / "build" / env / "manifest.json").read_text())
    ((database,), *_) = data["deploy"]["waves"]
    broken = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::ImportValue": "Nope"}}}}
    }
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    scripts.run_aws_deploy(database, tmp_path / "broken.json")
    assert live_stacks(scripts)[database]["StackStatus"] == "REVIEW_IN_PROGRESS"
    try:
        done = scripts.run("deploy.sh", env, "--only", database, "--yes")
        assert done.returncode == 0, done.output
        assert mutating(done) == [f"cloudformation delete-stack {database}", f"cloudformation create-stack {database}"]
        assert live_stacks(scripts)[database]["StackStatus"] == "CREATE_COMPLETE"
    finally:
        scripts.aws("cloudformation", "delete-stack", "--stack-name", database)


def test_deploy_workflow__an_unconfigured_workflow_is_built_and_deployed_alone(scripts: Scripts) -> None:
    """seed 004: deploy-workflow-simple.sh -n NAME -t express; the workflow imports the database stack."""
    database = scripts.run("deploy.sh", ENV, "--only", "CeapDatabase-dev", "--yes")
    assert database.returncode == 0, database.output
    run = scripts.run("deploy-workflow.sh", "-n", "nightly", "-t", "express", "--yes")
    try:
        assert run.returncode == 0, run.output
        assert "not in" in run.stdout and "building it (express, default steps)" in run.stdout
        assert mutating(run) == ["cloudformation create-stack CeapWorkflow-nightly"], run.calls
        live = live_stacks(scripts)
        assert live["CeapWorkflow-nightly"]["StackStatus"] == "CREATE_COMPLETE"
        outputs = {o["OutputKey"] for o in live["CeapWorkflow-nightly"].get("Outputs", [])}
        assert {"QueueUrl", "StateMachineArn", "BucketName"} <= outputs
    finally:
        scripts.aws("cloudformation", "delete-stack", "--stack-name", "CeapWorkflow-nightly")
