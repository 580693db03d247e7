"""A new Lambda stage added through the stage catalogue alone (README "Adding a stage").

The catalogue is extended inside the test (a copy passed to the loader), never globally: the
function, its role and grants, its environment and its Task state must all follow from the one
record, and the built folder must pass ``ceap-templates validate``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ceap_templates import configuration
from ceap_templates.artifacts import write_builds
from ceap_templates.environment_build import build_environment
from ceap_templates.errors import ConfigErrors
from ceap_templates.layouts import WORKFLOWS
from ceap_templates.stages import STAGES, Stage, TableUse
from ceap_templates.validation.engine import validate_directory

from .conftest import FIXED_CODE, policy_statements, properties_of, stack

#: The record a developer would add to ``stages.py``; every expectation below is read off it.
ENRICH = Stage(
    "Enrich",
    "ceap_handlers.handlers.filter.handler",
    256,
    45,
    "Enrich candidates from the score cache",
    tables=(TableUse("ScoreCache", "get"),),
)
CATALOGUE = {**STAGES, "Enrich": ENRICH}
# 8 h: above the worst case of ETL + Enrich + Store with Store mapped over the configured dev sizing,
# which the loader requires: ETL over its source shards 3 x 1,860 s, Enrich 195 s, Store 1,100 parts
# 25 at once, 45 x 420 s = 24,675 s.
WORKFLOW = {"name": "enrich", "type": "standard", "timeoutSeconds": 28800, "steps": ["ETL", "Enrich", "Store"]}


def _document(raw_copy: dict[str, Any]) -> dict[str, Any]:
    raw_copy["environments"] = {"dev": raw_copy["environments"]["dev"]}
    raw_copy["environments"]["dev"]["workflows"] = [WORKFLOW]
    return raw_copy


@pytest.fixture()
def enrich_template(raw_copy: dict[str, Any]) -> dict[str, Any]:
    env = configuration.parse(_document(raw_copy), "test.yaml", CATALOGUE).environments["dev"]
    return stack(build_environment(env, FIXED_CODE), WORKFLOWS, "CeapWorkflow-enrich")


def test_new_stage__unknown_without_the_record(raw_copy: dict[str, Any]) -> None:
    with pytest.raises(ConfigErrors) as raised:
        configuration.parse(_document(raw_copy), "test.yaml")
    assert "environments.dev.workflows[0].steps[1]: 'Enrich' is not a step; allowed: a Lambda stage (ETL, Filter" in (
        str(raised.value)
    )


def test_new_stage__schema_lists_it(raw_copy: dict[str, Any]) -> None:
    step = configuration.schema(CATALOGUE)["$defs"]["step"]["oneOf"][0]
    assert step["enum"] == ["ETL", "Filter", "Score", "Store", "Reactive", "Enrich"]


def test_new_stage__function_follows_the_record(enrich_template: dict[str, Any]) -> None:
    props = properties_of(enrich_template, "EnrichFunction")
    assert (props["Handler"], props["MemorySize"], props["Timeout"]) == (ENRICH.handler, 256, 45)
    assert props["Description"] == "Enrich candidates from the score cache"
    assert props["FunctionName"] == "CeapWorkflow-enrich-EnrichLambda"  # docs/design.md 3: {stack}-{Stage}Lambda
    assert props["Role"] == {"Fn::GetAtt": ["EnrichFunctionRole", "Arn"]}
    variables = props["Environment"]["Variables"]
    assert variables == {
        "POWERTOOLS_SERVICE_NAME": "ceap-enrich",
        "POWERTOOLS_METRICS_NAMESPACE": "Ceap",
        "LOG_LEVEL": "INFO",
        "SCORE_CACHE_TABLE": {"Fn::ImportValue": {"Fn::Sub": "${DatabaseStackName}-ScoreCacheTableName"}},
        "WORKFLOW_BUCKET": {"Ref": "WorkflowBucket"},
        # A standard workflow's stage writes parts of sizing.partSize (config/environments.yaml dev:
        # 10000; lambdas/README.md "Sharded hand-off").
        "PART_SIZE": "10000",
    }


def test_new_stage__role_has_only_its_grants(enrich_template: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in policy_statements(enrich_template, "EnrichFunctionRole")}
    # Its log group, X-Ray, GetItem on ScoreCache ("get"), the executions/ hand-offs: nothing else.
    assert set(statements) == {"WriteOwnLogGroup", "XRayTracing", "ScoreCacheTable", "HandOffObjects", "HandOffList"}
    assert statements["ScoreCacheTable"]["Action"] == ["dynamodb:GetItem"]
    assert statements["ScoreCacheTable"]["Resource"] == [
        {"Fn::ImportValue": {"Fn::Sub": "${DatabaseStackName}-ScoreCacheTableArn"}}
    ]
    assert statements["HandOffObjects"]["Resource"] == [
        {"Fn::Sub": ["${BucketArn}/executions/*", {"BucketArn": {"Fn::GetAtt": ["WorkflowBucket", "Arn"]}}]}
    ]
    log_group = properties_of(enrich_template, "EnrichFunctionLogGroup")
    assert log_group == {"LogGroupName": "/aws/lambda/CeapWorkflow-enrich-EnrichLambda", "RetentionInDays": 14}


def test_new_stage__task_has_retry_catch_and_execution_context(enrich_template: dict[str, Any]) -> None:
    machine = properties_of(enrich_template, "WorkflowStateMachine")
    states = machine["Definition"]["States"]
    task = states["Enrich"]
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"]["FunctionName"] == "${EnrichFunctionArn}"
    assert machine["DefinitionSubstitutions"]["EnrichFunctionArn"] == {"Fn::GetAtt": ["EnrichFunction", "Arn"]}
    # Seed 002: execution context of every stage; Lambda retries 2 x 20 s, backoff 2, transient errors only.
    assert task["Parameters"]["Payload"] == {
        "executionId.$": "$$.Execution.Name",
        "currentStage": "Enrich",
        "previousStage": "ETL",
        "workflowBucket": "${WorkflowBucket}",
    }
    (retry,) = task["Retry"]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (20, 2, 2.0)
    assert "TransientStageError" in retry["ErrorEquals"]
    assert task["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "EnrichFailed"}]
    assert states["EnrichFailed"]["Error"] == "EnrichError"
    # ETL runs over its source shards (plan, Map, manifest); its manifest step leads to the new stage.
    assert states["ETL"]["Next"] == "ETLManifest" and states["ETLManifest"]["Next"] == "Enrich"
    assert task["Next"] == "Store"
    invoke = next(s for s in policy_statements(enrich_template, "WorkflowRole") if s["Sid"] == "InvokeStages")
    assert {"Fn::GetAtt": ["EnrichFunction", "Arn"]} in invoke["Resource"]


def _validated(raw_copy: dict[str, Any], tmp_path: Path, catalogue: dict[str, Stage]) -> list[str]:
    env = configuration.parse(_document(raw_copy), "test.yaml", catalogue).environments["dev"]
    write_builds(tmp_path, [build_environment(env, FIXED_CODE)])
    report = validate_directory(tmp_path)
    assert report.stacks > 0 and report.rules
    return [str(f) for f in report.findings]


def test_new_stage__part_wise__built_folder_passes_validate(raw_copy: dict[str, Any], tmp_path: Path) -> None:
    # After the first stage of a standard workflow a stage runs once per part (a Distributed Map):
    # 11 waves of 100 + its manifest, x (3 x 45 + 20 + 40) s = 2,340 s, within the 8 h above.
    assert _validated(raw_copy, tmp_path, {**STAGES, "Enrich": replace(ENRICH, part_wise=True)}) == []


def test_new_stage__not_part_wise__validate_names_the_unbounded_function(
    raw_copy: dict[str, Any], tmp_path: Path
) -> None:
    # Not part-wise, it is one Task over the whole run (up to maxCandidatesPerRun 10,000,000) with
    # PART_SIZE only: CAP001 (docs/validation-policy.md) says no memory or timeout fits it.
    (finding,) = _validated(raw_copy, tmp_path, CATALOGUE)
    assert finding.startswith("CAP001 dev/CeapWorkflow-enrich/EnrichFunction: function ceap_handlers.handlers.filter")
    assert "PART_SIZE 10000 without MAX_CANDIDATES_PER_RUN, and no Map deployed with it invokes it" in finding
