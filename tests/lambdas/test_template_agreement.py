"""Values the handlers and the templates must agree on, each pinned once as a literal.

Every test states the value with its source and checks BOTH sides against it: the handler side
from ``ceap_handlers`` (by behaviour where one exists, else the constant the code uses), the
template side from the committed artifacts under ``build/`` (every environment, legacy layout
included), never from the generator's Python constants. A change on either side alone fails here.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ceap_handlers import aws as ceap_aws
from ceap_handlers import errors, runtime, sharding
from ceap_handlers.contract import (
    ContractError,
    ExecutionContext,
    candidate_item,
    events,
    parse_customer_event,
    parse_program_config,
    parts,
    paths,
    stage_output_key,
)
from ceap_handlers.settings import Settings
from ceap_handlers.stages import serving

from . import testkit
from .conftest import LocalAws

BUILD = testkit.BUILD

# --- The pinned values ----------------------------------------------------------------------

#: The Lambda entry points and the variables each one needs from its template
#: (lambdas/README.md "Entry points and environment"; names of the tables: docs/legacy-system.md "Functions").
ENTRY_POINTS = {
    "ceap_handlers.handlers.etl.handler": {"PROGRAM_CONFIG_TABLE", "WORKFLOW_BUCKET"},
    "ceap_handlers.handlers.filter.handler": {"PROGRAM_CONFIG_TABLE", "WORKFLOW_BUCKET"},
    "ceap_handlers.handlers.score.handler": {"PROGRAM_CONFIG_TABLE", "SCORE_CACHE_TABLE", "WORKFLOW_BUCKET"},
    "ceap_handlers.handlers.store.handler": {"CANDIDATES_TABLE", "WORKFLOW_BUCKET"},
    "ceap_handlers.handlers.reactive.handler": {"EVENT_BUS_NAME", "WORKFLOW_BUCKET"},
    "ceap_handlers.handlers.customer_event.handler": {
        "DEDUPLICATION_TABLE",
        "PROGRAM_CONFIG_TABLE",
        "CANDIDATES_TABLE",
        "SCORE_CACHE_TABLE",
    },
}
#: Read by Powertools itself on every function (Powertools for AWS Lambda, "Environment variables").
POWERTOOLS_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}
#: The handlers' metric namespace (lambdas/README.md: POWERTOOLS_METRICS_NAMESPACE "Ceap").
METRICS_NAMESPACE = "Ceap"
#: Stage hand-offs live under this prefix and expire after 7 days (docs/design.md 4.1 / 4.3, seed 004).
EXECUTIONS_PREFIX = "executions/"
EXECUTIONS_EXPIRY_DAYS = 7
#: ``s3_jsonl`` source objects: the only prefix the ETL role may read (lambdas/README.md "Connectors").
SOURCES_PREFIX = "sources/"
#: The customer event source the serving rule routes (docs/design.md 4.1, docs/legacy-system.md).
CUSTOMER_EVENT_SOURCE = "ceap.customer-events"
#: The completion event of a workflow's Reactive stage (docs/data.md "Reactive (workflow stage)").
WORKFLOW_EVENT_SOURCE = "ceap.workflow"
WORKFLOW_COMPLETED = "WorkflowCompleted"
#: A repeat within 300 s is a duplicate; the dedup item lives 600 s (docs/data.md "Reactive (serving)").
DEDUP_WINDOW_SECONDS = 300
DEDUP_TTL_SECONDS = 600
#: TTL attribute of Candidates, ScoreCache and the dedup table (docs/legacy-system.md "Tables").
TTL_ATTRIBUTE = "ttl"
#: Key attributes of the tables (docs/legacy-system.md "Tables").
TABLE_KEYS = {
    "Candidates": [("PK", "HASH"), ("SK", "RANGE")],
    "ProgramConfig": [("PK", "HASH"), ("SK", "RANGE")],
    "ScoreCache": [("PK", "HASH"), ("SK", "RANGE")],
    "ceap-event-deduplication": [("deduplicationKey", "HASH")],
}
CANDIDATE_INDEXES = {"ProgramChannelIndex": ("GSI1PK", "GSI1SK"), "ProgramDateIndex": ("GSI2PK", "GSI2SK")}
#: The error type the state machines retry (docs/design.md 6, seed 002: "the handlers' own transient
#: error type"); the permanent one is caught, never retried.
TRANSIENT_ERROR = "TransientStageError"
PERMANENT_ERROR = "PermanentStageError"
#: Lambda service errors a Lambda task retries: the transient ones AWS lists (ClientExecutionTimeout,
#: Service, AWSLambda, SdkClient) and throttling (TooManyRequests). AWS Step Functions Developer
#: Guide, "Handle Lambda service exceptions":
#: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
#: The execution context every Lambda task passes (docs/design.md 6, seed 002 Req. 2.1).
CONTEXT_KEYS = {"executionId.$", "currentStage", "previousStage", "workflowBucket"}
FIRST_STAGE_KEY = "initialData.$"
#: The sharded hand-off of standard workflows (issue 16; lambdas/README.md "Sharded hand-off of standard
#: workflows"): the first stage's payload adds ``"output": "parts"``; a Distributed Map child gets the
#: stage payload plus ``"part"``, one item of the previous stage's ``parts.json`` (the Map's ItemSelector
#: ``$$.Map.Item.Value``, read by an ItemReader from executions/{executionId}/{previousStage}/parts.json);
#: the manifest step after the Map gets the stage payload plus ``"collectParts": true``.
PARTS_OUTPUT = ("output", "parts")
PART_KEY = "part"
MAP_ITEM = "$$.Map.Item.Value"
COLLECT_PARTS = "collectParts"
PARTS_LIST = "parts.json"
#: Sizing variables (same source, "Environment"): PART_SIZE (candidates per part) on the functions of a
#: standard workflow, MAX_CANDIDATES_PER_RUN on its first stage (ETL) only, EXPRESS_MAX_CANDIDATES on
#: express functions only. The stage runner reads the first two when a payload asks for parts (the
#: first stage) and the third on every express stage; a Map child's PART_SIZE states the size of the
#: part it is given (the templates' sizing check reads it), its code does not read it.
PART_SIZE = "PART_SIZE"
MAX_CANDIDATES_PER_RUN = "MAX_CANDIDATES_PER_RUN"
EXPRESS_MAX_CANDIDATES = "EXPRESS_MAX_CANDIDATES"
FIRST_STAGE_HANDLER = "ceap_handlers.handlers.etl.handler"
SERVING_HANDLER = "ceap_handlers.handlers.customer_event.handler"


# --- The template side: the committed artifacts ---------------------------------------------


@functools.cache
def templates() -> dict[str, dict[str, Any]]:
    """Every committed template, by its path under build/."""
    found = sorted(BUILD.glob("*/**/*.template.json"))
    assert found, f"no templates under {BUILD}"
    return {str(path.relative_to(BUILD)): json.loads(path.read_text()) for path in found}


def resources(kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(template, logical id, Properties)`` of every resource of ``kind``."""
    for name, template in templates().items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] == kind:
                yield name, logical_id, resource.get("Properties", {})


def functions() -> list[tuple[str, str, dict[str, Any]]]:
    return list(resources("AWS::Lambda::Function"))


def statements(policy_holder: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in policy_holder.get("Policies", []):
        yield from policy["PolicyDocument"]["Statement"]


def lambda_tasks(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every ``lambda:invoke`` task of a definition, Map and Parallel branches included."""
    for state in definition.get("States", {}).values():
        if state.get("Resource", "").endswith(":lambda:invoke"):
            yield state
        for branch in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator") or {}]:
            yield from lambda_tasks(branch)


def express_functions() -> set[tuple[str, str]]:
    """``(template, logical id)`` of every function an EXPRESS state machine of its template invokes."""
    found = set()
    for template, _, props in resources("AWS::StepFunctions::StateMachine"):
        if props.get("StateMachineType") == "EXPRESS":
            for reference in (props.get("DefinitionSubstitutions") or {}).values():
                if isinstance(reference, dict) and "Fn::GetAtt" in reference:
                    found.add((template, reference["Fn::GetAtt"][0]))
    return found


def sizing_variables(template: str, logical_id: str, handler: str) -> set[str]:
    """The sizing variables a function must have (pinned above: PART_SIZE ... EXPRESS_MAX_CANDIDATES)."""
    if handler == SERVING_HANDLER:
        return set()
    if (template, logical_id) in express_functions():
        return {EXPRESS_MAX_CANDIDATES}
    # lambdas/README.md source shards: the first stage also reads SOURCE_SHARD_BYTES and MAX_SOURCE_SHARDS.
    first = {MAX_CANDIDATES_PER_RUN, "SOURCE_SHARD_BYTES", "MAX_SOURCE_SHARDS"}
    return {PART_SIZE} | (first if handler == FIRST_STAGE_HANDLER else set())


def role_of(template: str, function: dict[str, Any]) -> dict[str, Any]:
    role_id = function["Role"]["Fn::GetAtt"][0]
    role: dict[str, Any] = templates()[template]["Resources"][role_id]["Properties"]
    return role


def substituted(value: Any) -> str:
    """The text of a ``Fn::Sub`` (either form) or a plain string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return str(value)


# --- Entry points and environment -----------------------------------------------------------


def test_entry_points__templates_name_exactly_the_handlers_the_package_has() -> None:
    handlers = {props["Handler"] for _, _, props in functions()}
    assert handlers == set(ENTRY_POINTS)
    for entry in ENTRY_POINTS:
        module, _, attribute = entry.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attribute)), entry


def test_environment__each_function_gets_what_its_handler_reads() -> None:
    settings_names = {
        "CANDIDATES_TABLE",
        "PROGRAM_CONFIG_TABLE",
        "SCORE_CACHE_TABLE",
        "DEDUPLICATION_TABLE",
        "WORKFLOW_BUCKET",
        "EVENT_BUS_NAME",
    }
    sizing_names = {
        PART_SIZE,
        MAX_CANDIDATES_PER_RUN,
        EXPRESS_MAX_CANDIDATES,
        "SOURCE_SHARD_BYTES",
        "MAX_SOURCE_SHARDS",
    }
    checked = 0
    sized = dict.fromkeys(sizing_names, 0)
    for template, logical_id, props in functions():
        given = set(props["Environment"]["Variables"])
        sizing = sizing_variables(template, logical_id, props["Handler"])
        needed = ENTRY_POINTS[props["Handler"]] | POWERTOOLS_VARIABLES | sizing
        # Exactly what the stage needs: a variable its handler never reads (ETL's CANDIDATES_TABLE,
        # issue 14 item 9) is configuration nobody uses and a table name handed out for nothing. The
        # sizing variables are the documented exception (see PART_SIZE above).
        assert given == needed, (
            f"{template} {logical_id}: extra {sorted(given - needed)}, lacks {sorted(needed - given)}"
        )
        # Nothing the handlers would not read: a renamed variable on the template side shows here.
        assert given <= settings_names | POWERTOOLS_VARIABLES | sizing_names, (
            f"{template} {logical_id}: {sorted(given)}"
        )
        for name in sizing:
            sized[name] += 1
        checked += 1
    assert checked >= 6
    # Each of the three environments has express functions (realtime), standard ones and standard ETLs.
    assert min(sized.values()) >= 3, sized


def test_environment__handlers_read_the_pinned_sizing_variables() -> None:
    assert parts.part_size({PART_SIZE: "3"}) == 3
    assert parts.max_candidates_per_run({MAX_CANDIDATES_PER_RUN: "5"}) == 5
    parts.check_express_size(2, {EXPRESS_MAX_CANDIDATES: "2"})
    with pytest.raises(errors.PermanentStageError, match=EXPRESS_MAX_CANDIDATES):
        parts.check_express_size(3, {EXPRESS_MAX_CANDIDATES: "2"})
    for name, read in ((PART_SIZE, parts.part_size), (MAX_CANDIDATES_PER_RUN, parts.max_candidates_per_run)):
        with pytest.raises(errors.PermanentStageError, match=f"environment variable {name}"):
            read({name: "0"})


#: Settings attribute of each variable (lambdas/ceap_handlers/settings.py); a handler reads a
#: variable by its constant (``settings.require(X)``) or by this attribute.
_SETTING_OF = {
    "CANDIDATES_TABLE": "candidates_table",
    "PROGRAM_CONFIG_TABLE": "program_config_table",
    "SCORE_CACHE_TABLE": "score_cache_table",
    "DEDUPLICATION_TABLE": "dedup_table",
    "WORKFLOW_BUCKET": "workflow_bucket",
    "EVENT_BUS_NAME": "event_bus_name",
    "SCORE_CACHE_TTL_HOURS": "score_cache_ttl_hours",
}
#: Read with a default the templates keep (lambdas/README.md: SCORE_CACHE_TTL_HOURS (24)).
_DEFAULTED = {"SCORE_CACHE_TTL_HOURS"}


def _variables_read(module: str) -> set[str]:
    """The variables a handler module's source reads, through ``stage_handler`` too."""
    source = Path(importlib.import_module(module).__file__ or "").read_text("utf-8")
    found = {v for v, attribute in _SETTING_OF.items() if f"({v})" in source or f".{attribute}" in source}
    if module != "ceap_handlers.handlers.stage_entry" and "stage_handler(" in source:
        found |= _variables_read("ceap_handlers.handlers.stage_entry")
    return found


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_environment__pinned_table_is_what_the_handler_source_reads(entry: str) -> None:
    assert _variables_read(entry.rpartition(".")[0]) - _DEFAULTED == ENTRY_POINTS[entry]


def test_environment__handlers_read_the_pinned_variable_names() -> None:
    env = {
        "CANDIDATES_TABLE": "c",
        "PROGRAM_CONFIG_TABLE": "p",
        "SCORE_CACHE_TABLE": "s",
        "DEDUPLICATION_TABLE": "d",
        "WORKFLOW_BUCKET": "b",
        "EVENT_BUS_NAME": "e",
    }
    settings = Settings.from_env(env)
    assert (
        settings.candidates_table,
        settings.program_config_table,
        settings.score_cache_table,
        settings.dedup_table,
        settings.workflow_bucket,
        settings.event_bus_name,
    ) == ("c", "p", "s", "d", "b", "e")


def test_metrics_namespace__set_by_every_template_not_by_the_handlers() -> None:
    for template, logical_id, props in functions():
        namespace = props["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        assert namespace == METRICS_NAMESPACE, f"{template} {logical_id}"
    source = Path(importlib.import_module("ceap_handlers.observability").__file__ or "").read_text()
    assert f'"{METRICS_NAMESPACE}"' not in source  # read from the environment, not repeated


# --- S3 prefixes ----------------------------------------------------------------------------


def test_executions_prefix__handlers_write_under_it() -> None:
    assert paths.EXECUTIONS_PREFIX == EXECUTIONS_PREFIX
    assert stage_output_key("e-1", "Filter") == f"{EXECUTIONS_PREFIX}e-1/Filter/output.json"


def referenced_resource(template: str, value: dict[str, Any]) -> tuple[str, str]:
    """``(template, logical id)`` a ``Ref`` or a ``Fn::ImportValue`` of a sibling stack's export names."""
    if "Ref" in value:
        return template, value["Ref"]
    export = substituted(value["Fn::ImportValue"]).split("}-", 1)[1]
    folder = Path(template).parent
    for name, body in templates().items():
        for output in body.get("Outputs", {}).values():
            if Path(name).parent == folder and substituted(output.get("Export", {}).get("Name")).endswith(
                f"}}-{export}"
            ):
                return name, output["Value"]["Ref"]
    raise AssertionError(f"{template}: no export {export} beside it")


def test_executions_prefix__every_workflow_bucket_expires_it_after_7_days() -> None:
    buckets = {(t, lid): props for t, lid, props in resources("AWS::S3::Bucket")}
    workflow_buckets = {
        referenced_resource(t, props["Environment"]["Variables"]["WORKFLOW_BUCKET"])
        for t, _, props in functions()
        if "WORKFLOW_BUCKET" in props["Environment"]["Variables"]
    }
    assert len(workflow_buckets) >= 9  # per environment: data platform, legacy database, 2 workflows
    for key in sorted(workflow_buckets):
        rules = buckets[key]["LifecycleConfiguration"]["Rules"]
        expiring = [r for r in rules if r.get("Prefix") == EXECUTIONS_PREFIX and r["Status"] == "Enabled"]
        assert [r["ExpirationInDays"] for r in expiring] == [EXECUTIONS_EXPIRY_DAYS], key


def test_executions_prefix__stage_roles_may_read_and_write_only_under_it() -> None:
    checked = 0
    for template, logical_id, props in functions():
        if "WORKFLOW_BUCKET" not in props["Environment"]["Variables"]:
            continue
        objects = [
            substituted(r)
            for s in statements(role_of(template, props))
            if "s3:PutObject" in s["Action"]
            for r in s["Resource"]
        ]
        assert objects == [f"${{BucketArn}}/{EXECUTIONS_PREFIX}*"], f"{template} {logical_id}"
        listed = {
            prefix
            for s in statements(role_of(template, props))
            if s["Action"] == ["s3:ListBucket"]
            for prefix in s["Condition"]["StringLike"]["s3:prefix"]
        }
        assert f"{EXECUTIONS_PREFIX}*" in listed and listed <= {f"{EXECUTIONS_PREFIX}*", f"{SOURCES_PREFIX}*"}
        checked += 1
    assert checked >= 5


def test_sources_prefix__etl_accepts_only_it_and_its_role_reads_only_it() -> None:
    assert paths.SOURCES_PREFIX == SOURCES_PREFIX

    def s3_connector(prefix: str) -> dict[str, Any]:
        connector = {"connectorId": "s3", "connectorType": "s3_jsonl", "sourceConfig": {"prefix": prefix}}
        return testkit.program_config(dataConnectors=[connector])

    assert parse_program_config(s3_connector(f"{SOURCES_PREFIX}orders/")).data_connectors[0].prefix
    with pytest.raises(ContractError):
        parse_program_config(s3_connector(f"{EXECUTIONS_PREFIX}orders/"))
    checked = 0
    for template, logical_id, props in functions():
        if props["Handler"] != "ceap_handlers.handlers.etl.handler":
            continue
        reads = {
            substituted(r)
            for s in statements(role_of(template, props))
            if s["Action"] == ["s3:GetObject"]
            for r in s["Resource"]
        }
        assert reads == {f"${{BucketArn}}/{SOURCES_PREFIX}*"}, f"{template} {logical_id}"
        checked += 1
    assert checked >= 3


# --- Events ---------------------------------------------------------------------------------


def test_customer_event_source__rule_routes_it_and_the_handler_accepts_only_it() -> None:
    event = testkit.customer_event()
    event["source"] = CUSTOMER_EVENT_SOURCE
    assert parse_customer_event(event).customer_id == "C1"
    event["source"] = "ceap.other"
    with pytest.raises(ContractError) as raised:
        parse_customer_event(event)
    assert raised.value.field == "source"
    routed = 0
    for template, logical_id, props in resources("AWS::Events::Rule"):
        pattern = props.get("EventPattern") or {}
        targets = [t["Arn"]["Fn::GetAtt"][0] for t in props.get("Targets", []) if "Fn::GetAtt" in t["Arn"]]
        resources_of = templates()[template]["Resources"]
        handlers = {resources_of[t]["Properties"].get("Handler") for t in targets}
        if "ceap_handlers.handlers.customer_event.handler" in handlers:
            assert pattern["source"] == [CUSTOMER_EVENT_SOURCE], f"{template} {logical_id}"
            routed += 1
    assert routed >= 3  # one serving rule per environment


def test_workflow_completed__published_on_the_bus_the_role_may_put_to() -> None:
    assert (events.WORKFLOW_EVENT_SOURCE, events.WORKFLOW_COMPLETED) == (WORKFLOW_EVENT_SOURCE, WORKFLOW_COMPLETED)
    # No rule in the platform consumes the event yet; what must agree is the bus.
    checked = 0
    for template, logical_id, props in functions():
        if props["Handler"] != "ceap_handlers.handlers.reactive.handler":
            continue
        bus = props["Environment"]["Variables"]["EVENT_BUS_NAME"]
        puts = [
            substituted(r)
            for s in statements(role_of(template, props))
            if s["Action"] == ["events:PutEvents"]
            for r in s["Resource"]
        ]
        assert [p.rsplit(":event-bus/", 1)[1] for p in puts] == [bus], f"{template} {logical_id}"
        checked += 1
    assert checked >= 2


# --- Dedup window and TTLs ------------------------------------------------------------------


def test_dedup_window_and_ttl__handler_values() -> None:
    assert (serving.DEDUP_WINDOW_SECONDS, serving.DEDUP_TTL_SECONDS) == (DEDUP_WINDOW_SECONDS, DEDUP_TTL_SECONDS)


def test_ttl_attribute__tables_expire_on_the_attribute_the_handlers_write(local_aws: LocalAws) -> None:
    ttl_tables = {}
    for template, logical_id, props in resources("AWS::DynamoDB::Table"):
        spec = props.get("TimeToLiveSpecification")
        if spec:
            ttl_tables[(template, logical_id)] = spec
            assert spec == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}, f"{template} {logical_id}"
    assert len(ttl_tables) >= 9  # Candidates, ScoreCache and dedup in each environment

    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert candidate_item(testkit.candidate(), "retail", "US")[TTL_ATTRIBUTE] > now.timestamp()
    dedup = ceap_aws.DynamoDeduplication(
        testkit.DEDUP_TABLE, window_seconds=serving.DEDUP_WINDOW_SECONDS, ttl_seconds=serving.DEDUP_TTL_SECONDS
    )
    assert dedup.claim("k", now)
    (item,) = local_aws.ddb.scan(TableName=testkit.DEDUP_TABLE)["Items"]
    assert int(item[TTL_ATTRIBUTE]["N"]) == int(now.timestamp()) + DEDUP_TTL_SECONDS


def test_table_keys__templates_define_the_keys_the_handlers_use() -> None:
    seen = set()
    for template, logical_id, props in resources("AWS::DynamoDB::Table"):
        family = props["TableName"].rsplit("-", 1)[0]
        keys = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
        assert keys == TABLE_KEYS[family], f"{template} {logical_id}"
        if family == "Candidates":
            indexes = {
                i["IndexName"]: tuple(k["AttributeName"] for k in i["KeySchema"])
                for i in props["GlobalSecondaryIndexes"]
            }
            assert indexes == CANDIDATE_INDEXES, f"{template} {logical_id}"
        seen.add(family)
    assert seen == set(TABLE_KEYS)
    item = candidate_item(testkit.candidate(), "retail", "US")
    index_keys = {k for pair in CANDIDATE_INDEXES.values() for k in pair}
    assert {"PK", "SK"} | index_keys <= set(item)


# --- Error types and the execution context ---------------------------------------------------


def test_error_names__state_machines_retry_the_transient_type_only() -> None:
    assert (errors.TransientStageError.__name__, errors.PermanentStageError.__name__) == (
        TRANSIENT_ERROR,
        PERMANENT_ERROR,
    )
    tasks = [
        task
        for _, _, props in resources("AWS::StepFunctions::StateMachine")
        for task in lambda_tasks(props["Definition"])
    ]
    assert len(tasks) >= 15
    for task in tasks:
        retried = {name for retry in task["Retry"] for name in retry["ErrorEquals"]}
        assert TRANSIENT_ERROR in retried and PERMANENT_ERROR not in retried, task


def test_lambda_tasks__retry_every_documented_lambda_service_error() -> None:
    """Issue 14 item 6: a Lambda task retries exactly AWS's Lambda service errors and the handlers'
    transient type; nothing else (a permanent error or ``States.ALL`` would retry what cannot heal)."""
    checked = 0
    for template, logical_id, props in resources("AWS::StepFunctions::StateMachine"):
        for task in lambda_tasks(props["Definition"]):
            retried = {name for retry in task["Retry"] for name in retry["ErrorEquals"]}
            assert retried == LAMBDA_SERVICE_ERRORS | {TRANSIENT_ERROR}, f"{template} {logical_id}"
            checked += 1
    assert checked >= 15


def stage_payloads(definition: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(payload, state)`` of every Lambda stage invocation of a definition, branches included.

    A task's ``Payload``; for a Distributed Map, whose child task passes its input on whole
    (``"Payload.$": "$"``), the Map's ``ItemSelector``.
    """
    for state in definition.get("States", {}).values():
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if "ItemSelector" in state:
            children = list(lambda_tasks(processor))
            assert children and all(
                t["Parameters"] == {"FunctionName": t["Parameters"]["FunctionName"], "Payload.$": "$"} for t in children
            ), state
            yield state["ItemSelector"], state
        else:
            if state.get("Resource", "").endswith(":lambda:invoke"):
                yield state["Parameters"]["Payload"], state
            for branch in [*state.get("Branches", []), processor]:
                yield from stage_payloads(branch)


def test_execution_context__state_machines_pass_what_handlers_accept() -> None:
    assert (runtime.OUTPUT_MODE_KEY, runtime.OUTPUT_PARTS) == PARTS_OUTPUT
    assert (sharding.PART_EVENT_KEY, sharding.COLLECT_EVENT_KEY, parts.PARTS_OBJECT) == (
        PART_KEY,
        COLLECT_PARTS,
        PARTS_LIST,
    )
    checked = {"first": 0, "task": 0, "child": 0, "manifest": 0}
    for template, logical_id, props in resources("AWS::StepFunctions::StateMachine"):
        express = props.get("StateMachineType") == "EXPRESS"
        for payload, state in stage_payloads(props["Definition"]):
            where = f"{template} {logical_id} {payload.get('currentStage')}"
            first = payload["previousStage"] is None
            if "ItemSelector" in state and first:
                # The first stage's Map over its source shards (lambdas/README.md source event).
                kind, extra = "child", {FIRST_STAGE_KEY, "source.$"}
                assert not express and payload["source.$"] == MAP_ITEM, where
                key = state["ItemReader"]["Parameters"]["Key.$"]
                listed = f"{EXECUTIONS_PREFIX}{{}}/{payload['currentStage']}/sources.json"
                expected = f"States.Format('{listed}', $$.Execution.Name)"
                assert key == expected, where
            elif "ItemSelector" in state:
                kind, extra = "child", {f"{PART_KEY}.$"}
                assert not express and payload[f"{PART_KEY}.$"] == MAP_ITEM, where
                reader = state["ItemReader"]
                assert reader["Resource"] == "arn:aws:states:::s3:getObject", where
                assert reader["Parameters"] == {
                    "Bucket": payload["workflowBucket"],
                    "Key.$": f"States.Format('{EXECUTIONS_PREFIX}{{}}/{payload['previousStage']}/{PARTS_LIST}', "
                    "$$.Execution.Name)",
                }, where
            elif COLLECT_PARTS in payload:
                kind, extra = "manifest", {COLLECT_PARTS}
                assert not express and payload[COLLECT_PARTS] is True, where
            elif "collectSources" in payload:
                kind, extra = "manifest", {FIRST_STAGE_KEY, "collectSources"}
                assert not express and payload["collectSources"] is True, where
            elif first and payload.get(PARTS_OUTPUT[0]) == "plan":
                kind, extra = "first", {FIRST_STAGE_KEY, PARTS_OUTPUT[0]}
            elif first:
                kind, extra = "first", {FIRST_STAGE_KEY} | (set() if express else {PARTS_OUTPUT[0]})
                if not express:
                    assert payload[PARTS_OUTPUT[0]] == PARTS_OUTPUT[1], where
            else:
                kind, extra = "task", set()
            assert set(payload) == CONTEXT_KEYS | extra, where
            assert payload["executionId.$"] == "$$.Execution.Name"
            resolved = {key.removesuffix(".$"): value for key, value in payload.items()}
            resolved.update(executionId="exec-1", workflowBucket=testkit.BUCKET)
            if first:
                resolved["initialData"] = testkit.request()
            context = ExecutionContext.from_payload(resolved)
            assert context.output_key.startswith(EXECUTIONS_PREFIX)
            checked[kind] += 1
    # Per environment: four first stages (realtime, batch, data platform, legacy data platform), three
    # Maps and three manifest steps in each of the three standard machines, 5 other tasks.
    assert checked["first"] >= 4 and checked["child"] >= 9 and checked["manifest"] >= 9, checked
    assert sum(checked.values()) >= 15, checked


def test_distributed_maps__follow_each_sharded_stage_with_its_manifest_step() -> None:
    """Each Map's next state is the manifest step of the same stage, which reads the same parts.json."""
    maps = 0
    for template, logical_id, props in resources("AWS::StepFunctions::StateMachine"):
        states = props["Definition"]["States"]
        for name, state in states.items():
            if "ItemSelector" not in state:
                continue
            selector = state["ItemSelector"]
            step = states[state["Next"]]["Parameters"]["Payload"]
            if selector["previousStage"] is None:  # the first stage over its source shards
                assert step == {**{k: v for k, v in selector.items() if k != "source.$"}, "collectSources": True}
                maps += 1
                continue
            assert step == {
                COLLECT_PARTS: True,
                "currentStage": selector["currentStage"],
                "executionId.$": "$$.Execution.Name",
                "previousStage": selector["previousStage"],
                "workflowBucket": selector["workflowBucket"],
            }, f"{template} {logical_id} {name}"
            # The children's output is discarded (README: 1000 results would exceed the 256 KB state limit).
            assert state["ResultPath"] is None, f"{template} {logical_id} {name}"
            maps += 1
    assert maps >= 9
