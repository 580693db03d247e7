"""Bad input never reaches AWS: one clear line on stderr, exit 2, nothing written (issue 10).

These runs point AWS_ENDPOINT_URL at a closed loopback port, so a script that called AWS
before checking its input would show it as "cannot reach" instead of the expected message.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from .conftest import BUILD, Scripts

ALL = [
    "deploy.sh",
    "deploy-workflow.sh",
    "backup-templates.sh",
    "validate-resources.sh",
    "rollback.sh",
    "cleanup-legacy.sh",
    "smoke-test.sh",
]
WITH_ENV = [s for s in ALL if s != "deploy-workflow.sh"]


def assert_refused(run, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.output
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not run.calls or run.calls == ["sts get-caller-identity"], run.calls


@pytest.mark.parametrize("script", ALL)
def test_help__usage_and_exit_0(offline_scripts: Scripts, script: str) -> None:
    run = offline_scripts.run(script, "--help")
    assert run.returncode == 0, run.output
    assert run.stdout.startswith(f"Usage: scripts/{script}")
    assert not run.calls


@pytest.mark.parametrize("script", WITH_ENV)
def test_unknown_flag__refused(offline_scripts: Scripts, script: str) -> None:
    assert_refused(offline_scripts.run(script, "dev", "--frobnicate"), "unknown option --frobnicate")


@pytest.mark.parametrize("script", WITH_ENV)
def test_missing_environment__refused(offline_scripts: Scripts, script: str) -> None:
    assert_refused(
        offline_scripts.run(script, "--yes") if script != "smoke-test.sh" else offline_scripts.run(script),
        "missing ENV",
    )


@pytest.mark.parametrize("script", WITH_ENV)
def test_unknown_environment__names_the_built_ones(offline_scripts: Scripts, script: str) -> None:
    assert_refused(offline_scripts.run(script, "qa", "--yes"), "unknown environment 'qa'", "dev,prod,staging")


def test_deploy_unknown_layout__refused(offline_scripts: Scripts) -> None:
    assert_refused(
        offline_scripts.run("deploy.sh", "dev", "--layout", "hybrid"), "--layout hybrid", "consolidated or legacy"
    )


def test_deploy_unknown_stack__lists_the_layout_stacks(offline_scripts: Scripts) -> None:
    run = offline_scripts.run("deploy.sh", "dev", "--only", "CeapNope-dev")
    assert_refused(run, "--only CeapNope-dev", "CeapDatabase-dev", "CeapWorkflow-batch")


def test_deploy_legacy_only_takes_legacy_stack(offline_scripts: Scripts) -> None:
    # CeapOrchestration-dev exists only in the legacy layout (build/dev/manifest.json).
    run = offline_scripts.run("deploy.sh", "dev", "--only", "CeapOrchestration-dev")
    assert_refused(run, "not a stack of the consolidated layout")


def test_deploy_template_edited_after_build__refused(offline_scripts: Scripts, tmp_path: Path) -> None:
    copy = tmp_path / "build"
    shutil.copytree(BUILD / "dev", copy / "dev")
    template = copy / "dev" / "CeapServingAPI-dev.template.json"
    template.write_text(template.read_text().replace('"Description": "', '"Description": "edited ', 1))
    run = offline_scripts.run("deploy.sh", "dev", "--build", str(copy), "--yes")
    assert_refused(run, "CeapServingAPI-dev.template.json", "differs from the manifest")


def test_deploy_build_that_validate_rejects__refused(offline_scripts: Scripts, tmp_path: Path) -> None:
    """Hashes consistent (as a rebuild would leave them) but a rule broken: validate's finding is named."""
    copy = tmp_path / "build"
    shutil.copytree(BUILD / "dev", copy / "dev")
    template_path = copy / "dev" / "CeapDatabase-dev.template.json"
    template = json.loads(template_path.read_text())
    # docs/legacy-system.md: Candidates keeps its physical name; a renamed table is a finding (and data loss).
    template["Resources"]["CandidatesTableB438AE0C"]["Properties"]["TableName"] = "Candidates-renamed"
    text = json.dumps(template, indent=2, sort_keys=True) + "\n"
    template_path.write_text(text)
    manifest_path = copy / "dev" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["layouts"]["consolidated"]["stacks"]["CeapDatabase-dev"]
    entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    entry["bytes"] = len(text.encode())
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    run = offline_scripts.run("deploy.sh", "dev", "--build", str(copy), "--yes")
    assert_refused(run, "ceap-templates validate rejects", "finding")


def test_unreachable_endpoint__one_line(offline_scripts: Scripts) -> None:
    run = offline_scripts.run("backup-templates.sh", "dev")
    assert_refused(run, "cannot reach AWS at http://127.0.0.1:9")


def test_no_credentials__one_line(offline_scripts: Scripts, tmp_path: Path) -> None:
    env = {k: v for k, v in offline_scripts.env.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    run = Scripts(env, offline_scripts.work).run("validate-resources.sh", "dev")
    assert_refused(run, "no usable AWS credentials")


@pytest.mark.parametrize("script", ["rollback.sh", "cleanup-legacy.sh"])
def test_destructive_without_terminal_or_yes__refused_before_any_call(offline_scripts: Scripts, script: str) -> None:
    run = offline_scripts.run(script, "dev")
    assert_refused(run, "no terminal", "--yes")
    assert not run.calls


def test_deploy_workflow_type_contradicting_configuration__refused(offline_scripts: Scripts) -> None:
    # config/environments.yaml: dev's workflow "realtime" is express.
    run = offline_scripts.run("deploy-workflow.sh", "-n", "realtime", "-t", "standard")
    assert_refused(run, "-t standard", "realtime is express")


def test_deploy_workflow_bad_type__refused(offline_scripts: Scripts) -> None:
    assert_refused(offline_scripts.run("deploy-workflow.sh", "-n", "x", "-t", "turbo"), "allowed express or standard")


def test_smoke_unknown_workflow__refused(offline_scripts: Scripts) -> None:
    run = offline_scripts.run("smoke-test.sh", "dev", "--workflow", "nightly")
    assert_refused(run, "--workflow nightly", "realtime")
