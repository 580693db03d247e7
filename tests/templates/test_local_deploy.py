"""Deploy the committed-style build into moto's CloudFormation, wave by wave.

A smoke test of the wiring (docs/tools.md moto: moto ignores alarms, pipes and policies, which the
static tests check on the template): exports exist when importers deploy, imports resolve to
the producer's values, and deploying a consumer before its producer is refused.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ceap_templates.cli import main
from ceap_templates.packaging import write_packages

from .conftest import CONFIG_PATH, ROOT

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def dev_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deploy")
    argv = ["build", "--env", "dev", "--config", str(CONFIG_PATH), "--source-root", str(ROOT), "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out / "dev"


@pytest.fixture()
def cloudformation(dev_build: Path) -> Iterator[object]:
    """moto with the artifact bucket holding the packages at the keys the templates name."""
    with warnings.catch_warnings(), mock_aws():
        warnings.simplefilter("ignore")  # moto warns about every resource type it only records
        manifest = json.loads((dev_build / "manifest.json").read_text())
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=manifest["code"]["artifactBucket"])
        with tempfile.TemporaryDirectory() as packages:
            for key, path in write_packages(ROOT, Path(packages)).items():
                s3.upload_file(str(path), manifest["code"]["artifactBucket"], key)
        yield boto3.client("cloudformation", region_name="us-east-1")


def _deploy(client: object, folder: Path, manifest: dict, layout: str, name: str) -> str:
    body = (folder / manifest["layouts"][layout]["stacks"][name]["template"]).read_text()
    client.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])  # type: ignore[attr-defined]
    return str(client.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])  # type: ignore[attr-defined]


def test_product_waves__deploy_in_order_and_imports_resolve(dev_build: Path, cloudformation: object) -> None:
    manifest = json.loads((dev_build / "manifest.json").read_text())
    for wave in manifest["deploy"]["waves"]:
        for name in wave:
            layout = "workflows" if name.startswith("CeapWorkflow-") else "consolidated"
            assert _deploy(cloudformation, dev_build, manifest, layout, name) == "CREATE_COMPLETE", name
    exports = {e["Name"]: e["Value"] for e in cloudformation.list_exports()["Exports"]}  # type: ignore[attr-defined]
    assert exports["CeapDatabase-dev-CandidatesTableName"] == "Candidates-dev"
    assert exports["CeapDataPlatform-dev-OrchestrationArn"].endswith(":stateMachine:CeapBatchIngestion-dev")
    functions = {
        f["FunctionName"]: f for f in boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"]
    }
    store = functions["CeapDataPlatform-dev-StoreLambda"]
    assert store["Environment"]["Variables"]["CANDIDATES_TABLE"] == "Candidates-dev"
    score = functions["CeapWorkflow-batch-ScoreLambda"]
    assert score["Environment"]["Variables"]["SCORE_CACHE_TABLE"] == "ScoreCache-dev"
    tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    assert {"Candidates-dev", "ProgramConfig-dev", "ScoreCache-dev", "ceap-event-deduplication-dev"} <= set(tables)


def test_consumer_before_producer__refused_with_missing_export(dev_build: Path, cloudformation: object) -> None:
    manifest = json.loads((dev_build / "manifest.json").read_text())
    with pytest.raises(Exception, match="No export named CeapDatabase-dev-"):
        _deploy(cloudformation, dev_build, manifest, "consolidated", "CeapDataPlatform-dev")


def test_legacy_layout__deploys_in_its_three_waves(dev_build: Path, cloudformation: object) -> None:
    manifest = json.loads((dev_build / "manifest.json").read_text())
    waves = manifest["layouts"]["legacy"]["waves"]
    assert len(waves) == 3
    for wave in waves:
        for name in wave:
            assert _deploy(cloudformation, dev_build, manifest, "legacy", name) == "CREATE_COMPLETE", name
    exports = {e["Name"] for e in cloudformation.list_exports()["Exports"]}  # type: ignore[attr-defined]
    assert "CeapEtlWorkflow-dev-ETLFunctionArn" in exports
    assert "CeapDatabase-dev-BatchIngestionBucketName" in exports
