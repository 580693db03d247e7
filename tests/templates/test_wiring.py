"""Wiring of the consolidated and legacy layouts: imports, grants, environment, logical IDs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ceap_templates.environment_build import EnvironmentBuild
from ceap_templates.layouts import CONSOLIDATED, LEGACY

from .conftest import ENVS, find_all, policy_statements, properties_of, resources_of, stack

#: docs/legacy-system.md: logical ID -> (type, consolidated stack role, legacy stack role).
LEGACY_IDS = {
    "CandidatesTableB438AE0C": ("AWS::DynamoDB::Table", "Database", "Database"),
    "ProgramConfigTableE4B88D2D": ("AWS::DynamoDB::Table", "Database", "Database"),
    "ScoreCacheTable789CCB88": ("AWS::DynamoDB::Table", "Database", "Database"),
    "ETLLambdaFunction49DD508A": ("AWS::Lambda::Function", "DataPlatform", "EtlWorkflow"),
    "FilterLambdaFunction29040EBB": ("AWS::Lambda::Function", "DataPlatform", "FilterWorkflow"),
    "ScoreLambdaFunction04AD330A": ("AWS::Lambda::Function", "DataPlatform", "ScoreWorkflow"),
    "StoreLambdaFunction7FC1576D": ("AWS::Lambda::Function", "DataPlatform", "StoreWorkflow"),
    "DeduplicationTableAD30DFB7": ("AWS::DynamoDB::Table", "ServingAPI", "ReactiveWorkflow"),
    "ReactiveLambdaFunction89310B25": ("AWS::Lambda::Function", "ServingAPI", "ReactiveWorkflow"),
    "CustomerEventRuleC528982C": ("AWS::Events::Rule", "ServingAPI", "ReactiveWorkflow"),
    "BatchIngestionWorkflow10186577": ("AWS::StepFunctions::StateMachine", "DataPlatform", "Orchestration"),
    "BatchIngestionSchedule3D278ACF": ("AWS::Events::Rule", "DataPlatform", "Orchestration"),
}


def _layout_stacks(build: EnvironmentBuild, layout: str) -> dict[str, dict[str, Any]]:
    return {s.name: s.template for s in build.stacks if s.layout == layout}


def _exports(template: dict[str, Any], stack_name: str) -> set[str]:
    names = set()
    for output in template.get("Outputs", {}).values():
        export = output.get("Export", {}).get("Name")
        if isinstance(export, dict) and "Fn::Sub" in export:
            names.add(export["Fn::Sub"].replace("${AWS::StackName}", stack_name))
        elif isinstance(export, str):
            names.add(export)
    return names


def _imports(template: dict[str, Any]) -> list[str]:
    """Each ImportValue resolved with the stack-name parameters' defaults."""
    defaults = {k: v.get("Default") for k, v in template.get("Parameters", {}).items()}
    resolved = []
    for value in find_all(template, "Fn::ImportValue"):
        text = value["Fn::Sub"]
        resolved.append(re.sub(r"\$\{(\w+)\}", lambda m: str(defaults[m.group(1)]), text))
    return resolved


@pytest.mark.parametrize("layout", [CONSOLIDATED, LEGACY])
@pytest.mark.parametrize("env", ENVS)
def test_every_import__names_an_export_of_its_producer(
    builds: dict[str, EnvironmentBuild], env: str, layout: str
) -> None:
    stacks = _layout_stacks(builds[env], layout)
    exports = {name: _exports(t, name) for name, t in stacks.items()}
    all_imports = 0
    for consumer, template in stacks.items():
        for imported in _imports(template):
            producer = next((p for p in stacks if imported.startswith(f"{p}-")), None)
            assert producer is not None and producer != consumer, f"{consumer} imports {imported} from nowhere"
            assert imported in exports[producer], (
                f"{consumer} imports {imported}; {producer} exports {exports[producer]}"
            )
            all_imports += 1
    assert all_imports >= 6


@pytest.mark.parametrize("env", ENVS)
def test_database__exports_the_six_table_names_and_arns(builds: dict[str, EnvironmentBuild], env: str) -> None:
    database = stack(builds[env], CONSOLIDATED, f"CeapDatabase-{env}")
    expected = {
        f"CeapDatabase-{env}-{t}Table{a}"
        for t in ("Candidates", "ProgramConfig", "ScoreCache")
        for a in ("Name", "Arn")
    }
    assert _exports(database, f"CeapDatabase-{env}") == expected
    outputs = database["Outputs"]
    assert outputs["CandidatesTableName"]["Value"] == {"Ref": "CandidatesTableB438AE0C"}
    assert outputs["ScoreCacheTableArn"]["Value"] == {"Fn::GetAtt": ["ScoreCacheTable789CCB88", "Arn"]}


@pytest.mark.parametrize("env", ENVS)
def test_consumers__stack_name_parameters_default_to_the_producers(
    builds: dict[str, EnvironmentBuild], env: str
) -> None:
    platform = stack(builds[env], CONSOLIDATED, f"CeapDataPlatform-{env}")
    serving = stack(builds[env], CONSOLIDATED, f"CeapServingAPI-{env}")
    assert platform["Parameters"]["DatabaseStackName"]["Default"] == f"CeapDatabase-{env}"
    assert serving["Parameters"]["DatabaseStackName"]["Default"] == f"CeapDatabase-{env}"
    assert serving["Parameters"]["DataPlatformStackName"]["Default"] == f"CeapDataPlatform-{env}"
    assert {"Fn::Sub": "${DatabaseStackName}-CandidatesTableName"} in find_all(platform, "Fn::ImportValue")


def _dynamo_grants(template: dict[str, Any], role_id: str) -> dict[str, set[str]]:
    """Imported table name (``CandidatesTableArn``...) -> DynamoDB actions granted on it."""
    grants: dict[str, set[str]] = {}
    for statement in policy_statements(template, role_id):
        actions = [a for a in statement["Action"] if a.startswith("dynamodb:")]
        for resource in statement["Resource"] if actions else []:
            text = json.dumps(resource)
            match = re.search(r"-(\w+TableArn)", text) or re.search(r'"(\w+Table\w*)", "Arn"', text)
            assert match, text
            grants.setdefault(match.group(1), set()).update(actions)
    return grants


EXPECTED_STAGES = {
    # function id: (role id, env vars -> imported export, DynamoDB grants)
    "ETLLambdaFunction49DD508A": (
        "ETLFunctionRole",
        # ETL reads ProgramConfig only (lambdas/ceap_handlers/handlers/etl.py; issue 14 item 9).
        {"PROGRAM_CONFIG_TABLE": "ProgramConfigTableName"},
        {"ProgramConfigTableArn": {"dynamodb:GetItem", "dynamodb:Query"}},
    ),
    "FilterLambdaFunction29040EBB": (
        "FilterFunctionRole",
        {"PROGRAM_CONFIG_TABLE": "ProgramConfigTableName"},
        {"ProgramConfigTableArn": {"dynamodb:GetItem", "dynamodb:Query"}},
    ),
    "ScoreLambdaFunction04AD330A": (
        "ScoreFunctionRole",
        {"SCORE_CACHE_TABLE": "ScoreCacheTableName", "PROGRAM_CONFIG_TABLE": "ProgramConfigTableName"},
        {
            "ScoreCacheTableArn": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchGetItem"},
            "ProgramConfigTableArn": {"dynamodb:GetItem"},
        },
    ),
    "StoreLambdaFunction7FC1576D": (
        "StoreFunctionRole",
        {"CANDIDATES_TABLE": "CandidatesTableName"},
        {"CandidatesTableArn": {"dynamodb:BatchWriteItem", "dynamodb:PutItem"}},
    ),
}


@pytest.mark.parametrize("function_id", sorted(EXPECTED_STAGES))
@pytest.mark.parametrize("env", ENVS)
def test_stage_function__env_vars_and_grants_point_at_its_tables(
    builds: dict[str, EnvironmentBuild], env: str, function_id: str
) -> None:
    role_id, variables, grants = EXPECTED_STAGES[function_id]
    platform = stack(builds[env], CONSOLIDATED, f"CeapDataPlatform-{env}")
    props = properties_of(platform, function_id)
    env_vars = props["Environment"]["Variables"]
    for variable, export in variables.items():
        assert env_vars[variable] == {"Fn::ImportValue": {"Fn::Sub": f"${{DatabaseStackName}}-{export}"}}
    table_vars = {k for k in env_vars if k.endswith("_TABLE")}
    assert table_vars == set(variables)
    assert env_vars["WORKFLOW_BUCKET"] == {"Ref": "BatchIngestionBucket"}
    assert props["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert _dynamo_grants(platform, role_id) == grants
    assert props["TracingConfig"] == {"Mode": "Active"}
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert platform["Resources"][log_group]["Properties"]["RetentionInDays"] == builds[env].env.log_retention_days


@pytest.mark.parametrize("env", ENVS)
def test_reactive_function__all_four_tables_with_narrow_grants(builds: dict[str, EnvironmentBuild], env: str) -> None:
    serving = stack(builds[env], CONSOLIDATED, f"CeapServingAPI-{env}")
    props = properties_of(serving, "ReactiveLambdaFunction89310B25")
    variables = props["Environment"]["Variables"]
    assert variables["DEDUPLICATION_TABLE"] == {"Ref": "DeduplicationTableAD30DFB7"}
    assert variables["CANDIDATES_TABLE"]["Fn::ImportValue"] == {"Fn::Sub": "${DatabaseStackName}-CandidatesTableName"}
    grants = _dynamo_grants(serving, "ReactiveFunctionRole")
    assert grants["DeduplicationTableAD30DFB7"] == {"dynamodb:PutItem"}
    assert grants["CandidatesTableArn"] == {"dynamodb:BatchWriteItem", "dynamodb:PutItem"}
    assert "dynamodb:Scan" not in set().union(*grants.values())
    rule = serving["Resources"]["CustomerEventRuleC528982C"]["Properties"]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["ReactiveLambdaFunction89310B25", "Arn"]}
    assert rule["EventPattern"]["source"] == ["ceap.customer-events"]
    assert set(rule["EventPattern"]["detail-type"]) == {
        "OrderDelivered",
        "ProductPurchased",
        "VideoWatched",
        "TrackPlayed",
        "ServiceCompleted",
        "EventAttended",
    }
    permission = resources_of(serving, "AWS::Lambda::Permission")["ReactiveFunctionEventPermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["CustomerEventRuleC528982C", "Arn"]}


def test_query_grant_on_table_with_indexes__includes_index_arn() -> None:
    from troposphere import Template

    from ceap_templates.iam import allow, service_role

    template = Template()
    template.add_resource(
        service_role(
            "R",
            "lambda.amazonaws.com",
            [
                allow("C", "indexed-table", "read", ["arn:t/Candidates"]),
                allow("G", "indexed-table", "get", ["arn:t/C"]),
            ],
            policy_name="p",
        )
    )
    query, get = template.to_dict()["Resources"]["R"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    # AWS DynamoDB docs: Query on a GSI is authorised on `table/{name}/index/{index}`; GetItem never reads one.
    assert query["Resource"] == [
        "arn:t/Candidates",
        {"Fn::Sub": ["${TableArn}/index/*", {"TableArn": "arn:t/Candidates"}]},
    ]
    assert get["Resource"] == ["arn:t/C"]


@pytest.mark.parametrize("layout", [CONSOLIDATED, LEGACY])
@pytest.mark.parametrize("env", ENVS)
def test_legacy_logical_ids__present_with_type_in_the_right_stack(
    builds: dict[str, EnvironmentBuild], env: str, layout: str
) -> None:
    stacks = _layout_stacks(builds[env], layout)
    for logical_id, (type_, consolidated_role, legacy_role) in LEGACY_IDS.items():
        role = consolidated_role if layout == CONSOLIDATED else legacy_role
        holders = [name for name, t in stacks.items() if logical_id in t.get("Resources", {})]
        assert holders == [f"Ceap{role}-{env}"], (logical_id, holders)
        assert stacks[holders[0]]["Resources"][logical_id]["Type"] == type_


def _normalise(node: Any, stack_names: list[str], producers: dict[str, str]) -> Any:
    """Make a resource comparable across layouts: imports become the Ref/GetAtt they stand for."""
    if isinstance(node, dict):
        if set(node) == {"Fn::ImportValue"}:
            export = node["Fn::ImportValue"]["Fn::Sub"].split("}-", 1)[1]
            return producers[export]
        if set(node) == {"Ref"} and str(node["Ref"]).endswith("StackName"):
            return "{Producer}"
        return {k: _normalise(v, stack_names, producers) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v, stack_names, producers) for v in node]
    if isinstance(node, str):
        for name in stack_names:
            # Bucket names carry the stack name lowercase (S3 allows no capitals).
            node = node.replace(name, "{Stack}").replace(name.lower(), "{stack}")
        return re.sub(r"\$\{\w+StackName\}", "{Producer}", node)
    return node


@pytest.mark.parametrize("env", ENVS)
def test_same_resource__same_properties_in_both_layouts(builds: dict[str, EnvironmentBuild], env: str) -> None:
    consolidated = _layout_stacks(builds[env], CONSOLIDATED)
    legacy = _layout_stacks(builds[env], LEGACY)
    names = sorted([*consolidated, *legacy], key=len, reverse=True)
    # What each export stands for in its producer's own stack.
    producers: dict[str, Any] = {}
    for stacks in (consolidated, legacy):
        for template in stacks.values():
            for title, output in template.get("Outputs", {}).items():
                producers[title] = _normalise(output["Value"], names, {})
    flat_consolidated = {k: v for t in consolidated.values() for k, v in t["Resources"].items()}
    flat_legacy = {k: v for t in legacy.values() for k, v in t["Resources"].items()}
    assert set(flat_consolidated) == set(flat_legacy)
    for logical_id, resource in flat_consolidated.items():
        left = _normalise(resource, names, producers)
        right = _normalise(flat_legacy[logical_id], names, producers)
        assert left == right, logical_id


def test_manifest_waves__database_first_then_parallel(builds: dict[str, EnvironmentBuild]) -> None:
    for env, build in builds.items():
        manifest = json.loads(build.files["manifest.json"])
        assert manifest["layouts"]["consolidated"]["waves"] == [
            [f"CeapDatabase-{env}"],
            [f"CeapDataPlatform-{env}", f"CeapServingAPI-{env}"],
        ]
        assert manifest["layouts"]["legacy"]["waves"] == [
            [f"CeapDatabase-{env}"],
            sorted(f"Ceap{p}Workflow-{env}" for p in ("Etl", "Filter", "Score", "Store", "Reactive")),
            [f"CeapOrchestration-{env}"],
        ]


@pytest.mark.parametrize("env", ENVS)
def test_weak_reference__names_the_state_machine_the_platform_defines(
    builds: dict[str, EnvironmentBuild], env: str
) -> None:
    manifest = json.loads(builds[env].files["manifest.json"])
    for layout in (CONSOLIDATED, LEGACY):
        (weak,) = manifest["layouts"][layout]["weakReferences"]
        producer = stack(builds[env], layout, weak["producer"])
        consumer = stack(builds[env], layout, weak["consumer"])
        assert producer["Resources"][weak["resource"]]["Properties"][weak["property"]] == weak["expected"]
        machine = consumer["Resources"]["ReactiveStateMachine"]["Properties"]
        arn = machine["DefinitionSubstitutions"]["OrchestrationArn"]["Fn::Sub"]
        assert arn.endswith(f":stateMachine:{weak['expected']}")
        assert not find_all(machine, "Fn::ImportValue")


@pytest.mark.parametrize("env", ENVS)
def test_no_name_carries_the_environment_twice(builds: dict[str, EnvironmentBuild], env: str) -> None:
    for artifact in builds[env].stacks:
        text = artifact.text
        assert f"-{env}-{env}" not in text and f"{env}-{env}-" not in text, artifact.path
    platform = stack(builds[env], CONSOLIDATED, f"CeapDataPlatform-{env}")
    name = properties_of(platform, "ETLLambdaFunction49DD508A").get("FunctionName")
    if builds[env].env.physical_names == "explicit":
        assert name == f"CeapDataPlatform-{env}-ETLLambda"
    else:
        assert name is None


@pytest.mark.parametrize("env", ENVS)
def test_stateful_resources__explicit_deletion_policy_following_retain_flag(
    builds: dict[str, EnvironmentBuild], env: str
) -> None:
    retain = builds[env].env.retain_data
    database = stack(builds[env], CONSOLIDATED, f"CeapDatabase-{env}")
    for logical_id in ("CandidatesTableB438AE0C", "ProgramConfigTableE4B88D2D"):
        resource = database["Resources"][logical_id]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == ("Retain" if retain else "Delete")
    assert database["Resources"]["ScoreCacheTable789CCB88"]["DeletionPolicy"] == "Delete"
    candidates = database["Resources"]["CandidatesTableB438AE0C"]["Properties"]
    assert [i["IndexName"] for i in candidates["GlobalSecondaryIndexes"]] == ["ProgramChannelIndex", "ProgramDateIndex"]
    assert candidates["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert candidates["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert candidates["SSESpecification"] == {"SSEEnabled": True}
    assert candidates["BillingMode"] == "PAY_PER_REQUEST"
