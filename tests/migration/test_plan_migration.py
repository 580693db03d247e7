"""``ceap-templates plan-migration``: the plan of every environment, refusals of broken builds, bad input.

Expected figures are literals from the legacy system, never read from the planner:

- docs/legacy-system.md "The legacy stacks": the ETL, Filter, Score and Store stacks go to
  ``CeapDataPlatform-{env}``, the orchestration too, the reactive stack to ``CeapServingAPI-{env}``;
  ``CeapDatabase-{env}`` stays (only the batch hand-off bucket and its policy leave it, docs/design.md 4.1:
  the bucket belongs to the data platform).
- each stage stack holds its function, its own role and its log group (docs/design.md 4.1: "each with its
  own least-privilege role and an explicit log group") = 3 resources;
- the orchestration: machine, role, log group, schedule and its role, failure rule, alerts key, topic and
  topic policy, events DLQ, its policy and alarm = 12, plus the e-mail subscription where the environment
  has ``alarmEmail`` (config/environments.yaml: staging, prod) = 13;
- the reactive stack: 20 resources, 21 with the e-mail subscription.
- AWS: at most 5 stacks per stack refactor
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-refactoring.html);
  TemplateBody at most 51,200 bytes
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ceap_templates.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "staging", "prod")
# config/environments.yaml: no environment has a deliverable alarmEmail yet (alertsUnsubscribed: true),
# so no stack holds an email subscription to move.
WITH_EMAIL = {"dev": 0, "staging": 0, "prod": 0}


def expected_moves(env: str) -> dict[tuple[str, str], int]:
    """(legacy source, destination) -> resources moved."""
    platform, serving = f"CeapDataPlatform-{env}", f"CeapServingAPI-{env}"
    return {
        (f"CeapEtlWorkflow-{env}", platform): 3,
        (f"CeapFilterWorkflow-{env}", platform): 3,
        (f"CeapScoreWorkflow-{env}", platform): 3,
        (f"CeapStoreWorkflow-{env}", platform): 3,
        (f"CeapOrchestration-{env}", platform): 12 + WITH_EMAIL[env],
        (f"CeapDatabase-{env}", platform): 2,
        (f"CeapReactiveWorkflow-{env}", serving): 20 + WITH_EMAIL[env],
    }


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "build"
    code = main(["build", "--out", str(out), "--config", str(ROOT / "config/environments.yaml"), "--quiet"])
    assert code == 0
    return out


def _plan(build: Path, env: str, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["plan-migration", "--env", env, "--build", str(build), "--out", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("env", ENVS)
def test_plan__batches_mappings_and_step_order(
    build_dir: Path, env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    code, err = _plan(build_dir, env, out, capsys)
    assert code == 0, err
    batches = sorted(p for p in (out / "refactor").iterdir())
    moved: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str]] = set()
    for folder in batches:
        definitions = json.loads((folder / "stack-definitions.json").read_text())
        mappings = json.loads((folder / "resource-mappings.json").read_text())
        stacks = [d["StackName"] for d in definitions]
        assert len(stacks) <= 5 and len(set(stacks)) == len(stacks), stacks
        for d in definitions:
            assert ("TemplateBody" in d) != ("TemplateURL" in d)
            if "TemplateBody" in d:
                assert len(d["TemplateBody"].encode()) <= 51_200
                template = json.loads(d["TemplateBody"])
                assert template["Resources"], d["StackName"]  # a stack needs one resource
        for m in mappings:
            source, dest = m["Source"], m["Destination"]
            assert source["LogicalResourceId"] == dest["LogicalResourceId"]  # docs/legacy-system.md: IDs kept
            assert {source["StackName"], dest["StackName"]} <= set(stacks)
            key = (source["StackName"], source["LogicalResourceId"])
            assert key not in seen, key  # each resource moved exactly once
            seen.add(key)
            moved[(source["StackName"], dest["StackName"])] += 1
            # The destination's template after the batch holds the resource, the source's no longer.
            bodies = {d["StackName"]: json.loads(d["TemplateBody"]) for d in definitions if "TemplateBody" in d}
            if dest["StackName"] in bodies:
                assert dest["LogicalResourceId"] in bodies[dest["StackName"]]["Resources"]
            if source["StackName"] in bodies:
                assert source["LogicalResourceId"] not in bodies[source["StackName"]]["Resources"]
    assert dict(moved) == expected_moves(env)
    plan = (out / "PLAN.md").read_text()
    assert "Recommended route: **" in plan
    steps = re.findall(r"^### \d+\. \[([\w-]+)\]", plan, re.M)
    requires = re.findall(r"^- Requires: (.+)$", plan, re.M)
    assert len(steps) == len(requires) and steps
    for route in ("R", "B"):
        done: set[str] = set()
        for key, needs in zip(steps, requires, strict=True):
            if not key.startswith(route):
                continue
            for need in (n.strip() for n in needs.split(",")):
                assert need == "nothing" or need in done, (key, need)
            done.add(key)
    for fact in ("24 h soak", "rollback < 10 min", "Rollback:", "Approval:", "Expected duration:"):
        assert fact in plan


def test_prod_recommends_refactoring_dev_blue_green(
    build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/migration.md: an environment retaining data (prod) moves by refactoring."""
    for env, route in (("prod", "refactor"), ("dev", "blue-green")):
        assert _plan(build_dir, env, tmp_path / env, capsys)[0] == 0
        assert f"Recommended route: **{route}**" in (tmp_path / env / "PLAN.md").read_text()


# ---- mutated builds: refused with the reason, nothing written ---------------------------------
def _mutated(build_dir: Path, tmp_path: Path, path: str, edit: Any) -> Path:
    copy = tmp_path / "build"
    shutil.copytree(build_dir / "dev", copy / "dev")
    file = copy / "dev" / path
    data = json.loads(file.read_text())
    edit(data)
    file.write_text(json.dumps(data, indent=2))
    return copy


def _set_machine_name(template: dict[str, Any]) -> None:
    template["Resources"]["ReactiveStateMachine"]["Properties"]["StateMachineName"] = "CeapBatchIngestion-dev"


def _drop_role(template: dict[str, Any]) -> None:
    del template["Resources"]["BatchIngestionRole"]


def _drop_export(template: dict[str, Any]) -> None:
    del template["Outputs"]["CandidatesTableName"]


def _memory(template: dict[str, Any]) -> None:
    function = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    function["Properties"]["MemorySize"] = 4096


@pytest.mark.parametrize(
    ("path", "edit", "reason"),
    [
        (
            "CeapServingAPI-dev.template.json",
            _set_machine_name,
            "name collision: state_machine 'CeapBatchIngestion-dev'",
        ),
        (
            "CeapDataPlatform-dev.template.json",
            _drop_role,
            "missing counterpart: CeapOrchestration-dev/BatchIngestionRole",
        ),
        (
            "CeapDatabase-dev.template.json",
            _drop_export,
            "export CeapDatabase-dev-CandidatesTableName imported by CeapStoreWorkflow-dev is dropped",
        ),
        ("CeapDataPlatform-dev.template.json", _memory, "the build does not validate: MIG002"),
    ],
    ids=["colliding-name", "missing-counterpart", "legacy-export-dropped", "does-not-validate"],
)
def test_mutated_build__refused_with_the_reason(
    build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, edit: Any, reason: str
) -> None:
    build = _mutated(build_dir, tmp_path, path, edit)
    code, err = _plan(build, "dev", tmp_path / "plan", capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and reason in err, err
    assert not (tmp_path / "plan").exists()


# ---- bad input ----------------------------------------------------------------------------------
def test_unknown_environment__one_line_exit_2(
    build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _plan(build_dir, "qa", tmp_path / "plan", capsys)
    assert (code, err.count("\n")) == (2, 1) and "--env qa" in err and "dev, prod, staging" in err
    assert not (tmp_path / "plan").exists()


def test_environment_without_legacy_layout__refused(
    build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = _mutated(build_dir, tmp_path, "manifest.json", lambda m: m["layouts"].pop("legacy"))
    code, err = _plan(build, "dev", tmp_path / "plan", capsys)
    assert (code, err.count("\n")) == (2, 1) and "no legacy layout" in err, err
    assert not (tmp_path / "plan").exists()


def test_non_empty_out__refused_and_left_alone(
    build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "plan"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, err = _plan(build_dir, "dev", out, capsys)
    assert (code, err.count("\n")) == (2, 1) and "--out" in err and "not an empty folder" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
