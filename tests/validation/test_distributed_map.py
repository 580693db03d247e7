"""ASL011 on a hand-written Distributed Map, and the defects two rules report on purpose.

Rule: docs/validation-policy.md "ASL011: Distributed Maps". The Map below is written from the
AWS pages, not from the generator: https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
(Mode DISTRIBUTED, MaxConcurrency at most 10,000, ToleratedFailureCount/Percentage),
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html (s3:getObject,
ReaderConfig InputType and MaxItems) and, for the role,
https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html; the part list is
issue 16's ``executions/{executionId}/{previous stage}/parts.json``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ceap_templates.validation.model import Build, Environment, Layout, Stack
from ceap_templates.validation.rules.asl import statelint_problems
from ceap_templates.validation.rules.distributed_map import map_problems, reach_problems, role_problems

from .conftest import custom_findings
from .mutations import Draft
from .mutations.distributed_map import _map_states, _maps

KEY = "States.Format('executions/{}/Filter/parts.json', $$.Execution.Name)"


def _map() -> dict[str, Any]:
    child = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${ScoreArn}", "Payload.$": "$"},
        "TimeoutSeconds": 120,
        "ResultPath": None,
        "OutputPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "PartFailed", "ResultPath": "$.error"}],
        "End": True,
    }
    return {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON", "MaxItems": 400},
            "Parameters": {"Bucket": "${Bucket}", "Key.$": KEY},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Part",
            "States": {"Part": child, "PartFailed": {"Type": "Fail", "Error": "PartError", "Cause": "c"}},
        },
        "MaxConcurrency": 100,
        "ToleratedFailureCount": 0,
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ScoreFailed", "ResultPath": "$.error"}],
        "Next": "ScoreManifest",
    }


SIBLINGS: dict[str, Any] = {
    "ScoreManifest": {"Type": "Task", "End": True},
    "ScoreFailed": {"Type": "Fail", "Error": "ScoreError", "Cause": "c"},
}


def test_map_of_the_aws_pages__no_problem() -> None:
    assert list(map_problems(_map(), {**SIBLINGS, "Score": _map()})) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(state: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node = state
        for part in parents:
            node = node[part]
        if value is _DROP:
            del node[last]
        else:
            node[last] = value

    return edit


_DROP = object()


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            _set("ItemProcessor/ProcessorConfig", {"Mode": "INLINE"}),
            "ItemProcessor Mode is 'INLINE'; expected DISTRIBUTED (children as executions, items from S3)",
        ),
        (
            _set("ItemReader", _DROP),
            "no ItemReader: the items would be an inline list in the 256 KB state; read the part list from S3",
        ),
        (
            _set("ItemReader/Resource", "arn:aws:states:::s3:listObjectsV2"),
            "ItemReader Resource is 'arn:aws:states:::s3:listObjectsV2'; expected arn:aws:states:::s3:getObject "
            "(the part list)",
        ),
        (
            _set("ItemReader/ReaderConfig/InputType", _DROP),
            "ItemReader ReaderConfig.InputType is None; allowed: CSV, JSON, JSONL, MANIFEST, PARQUET",
        ),
        (
            _set("ItemReader/ReaderConfig/MaxItems", _DROP),
            "ItemReader ReaderConfig.MaxItems is None; bound the parts of the largest run",
        ),
        (
            _set("ItemReader/ReaderConfig/MaxItems", True),  # a bool is not a count
            "ItemReader ReaderConfig.MaxItems is True; bound the parts of the largest run",
        ),
        (
            _set("ItemReader/Parameters/Key.$", "$.key"),
            "ItemReader Key.$ is '$.key'; expected the run's part list, "
            "States.Format('executions/{}/<stage>/parts.json', $$.Execution.Name), "
            "or its first stage's source shards (<stage>/sources.json)",
        ),
        (
            _set("ItemReader/Parameters/Key.$", KEY.replace("$$.Execution.Name", "$.Execution.Name")),
            "ItemReader Key.$ is \"States.Format('executions/{}/Filter/parts.json', $.Execution.Name)\"; expected "
            "the run's part list, States.Format('executions/{}/<stage>/parts.json', $$.Execution.Name), "
            "or its first stage's source shards (<stage>/sources.json)",
        ),
        (_set("MaxConcurrency", 0), "MaxConcurrency is 0; allowed: 1..10000"),
        (_set("MaxConcurrency", 10_001), "MaxConcurrency is 10001; allowed: 1..10000"),
        (_set("MaxConcurrency", _DROP), "MaxConcurrency is None; allowed: 1..10000"),
        (
            _set("ToleratedFailurePercentage", 10),
            "ToleratedFailurePercentage is 10: a failed part would be missing candidates; allowed: 0",
        ),
        (
            _set("ToleratedFailureCount", 1),
            "ToleratedFailureCount is 1: a failed part would be missing candidates; allowed: 0",
        ),
        (
            _set("ToleratedFailureCountPath", "$.n"),
            "ToleratedFailureCount is 0: a failed part would be missing candidates; allowed: 0",
        ),
        (
            _set("ItemProcessor/States/Part/OutputPath", _DROP),
            "child Part: OutputPath is '<absent>'; expected null (results stay small)",
        ),
        (
            _set("ItemProcessor/States/Part/OutputPath", "$"),
            "child Part: OutputPath is '$'; expected null (results stay small)",
        ),
        (_set("Catch", _DROP), "no Catch on States.ALL into a Fail state (a failed part must fail the run visibly)"),
        (
            _set("Catch", [{"ErrorEquals": ["States.ALL"], "Next": "ScoreManifest"}]),
            "no Catch on States.ALL into a Fail state (a failed part must fail the run visibly)",
        ),
    ],
)
def test_one_break__its_problem(edit: Callable[[dict[str, Any]], None], problem: str) -> None:
    state = _map()
    edit(state)
    assert list(map_problems(state, {**SIBLINGS, "Score": state})) == [problem]


# ---- the role --------------------------------------------------------------------------------
def _grant(sid: str, actions: list[str], resource: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": [resource]}


MACHINE_ARN = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:M"}
EXECUTIONS_ARN = {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:M/*"}
PARTS_ARN = {"Fn::Sub": ["${BucketArn}/executions/*", {"BucketArn": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}
GRANTS = [
    _grant("Start", ["states:StartExecution"], MACHINE_ARN),
    _grant("Follow", ["states:DescribeExecution", "states:StopExecution"], EXECUTIONS_ARN),
    _grant("Read", ["s3:GetObject"], PARTS_ARN),
]


def _role_stack(statements: list[dict[str, Any]]) -> Stack:
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": ["states.amazonaws.com"]}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }
    return Stack("dev", "x", "S", "S.template.json", {"Resources": {"Role": role}}, 0, "0")


def test_role_of_the_aws_example__no_problem() -> None:
    assert list(role_problems(_role_stack(GRANTS), "Role", "M")) == []


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (GRANTS[1:], "role Role lacks states:StartExecution on its own machine M (Distributed Map children)"),
        (
            [GRANTS[0], _grant("Follow", ["states:DescribeExecution"], EXECUTIONS_ARN), GRANTS[2]],
            "role Role lacks states:DescribeExecution, states:StopExecution on execution:M/*",
        ),
        (
            [
                _grant("Start", ["states:StartExecution"], {"Fn::Sub": "arn:aws:states:::stateMachine:Other"}),
                *GRANTS[1:],
            ],
            "role Role lacks states:StartExecution on its own machine M (Distributed Map children)",
        ),
        (GRANTS[:2], "role Role lacks s3:GetObject on the bucket's executions/* (the ItemReader's part list)"),
        (
            [*GRANTS[:2], {**GRANTS[2], "Effect": "Deny"}],
            "role Role lacks s3:GetObject on the bucket's executions/* (the ItemReader's part list)",
        ),
    ],
)
def test_role_missing_a_grant__named(statements: list[dict[str, Any]], problem: str) -> None:
    assert list(role_problems(_role_stack(statements), "Role", "M")) == [problem]


# ---- the real build: a Map without its bounds is ASL011's and ASL010's -------------------------
@pytest.mark.parametrize(
    "edit",
    [
        _set("ItemReader/ReaderConfig/MaxItems", _DROP),
        _set("MaxConcurrency", _DROP),
        _set("MaxConcurrency", 0),
    ],
    ids=["MaxItems-dropped", "MaxConcurrency-dropped", "MaxConcurrency-0"],
)
def test_real_map_without_its_bounds__asl011_and_asl010(base_build: Build, edit: Callable[..., None]) -> None:
    """ASL011 wants the bound; ASL010 cannot bound the machine's time without it (docs/validation-policy.md)."""
    env = base_build.environments["dev"]
    for target in _maps(env):
        draft = Draft(env)
        for state, _ in _map_states(draft, target):
            edit(state)
        findings = custom_findings(draft.finish())
        assert {f.rule for f in findings} == {"ASL010", "ASL011"}, [str(f) for f in findings]
        budget = [f.message for f in findings if f.rule == "ASL010"]
        assert all("no static bound" in m for m in budget), budget


# ---- ASL001: what statelint 3.1 does not know ---------------------------------------------------
def _definition(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Score", "TimeoutSeconds": 3600, "States": {**copy.deepcopy(SIBLINGS), "Score": state}}


def test_statelint__refuses_reader_input_type_which_aws_defines() -> None:
    """Why STATELINT_GAPS exists: without it ASL001 would refuse every Map reading a JSON part list."""
    problems = statelint_problems(json.dumps(_definition(_map()), sort_keys=True))
    assert any('"InputType" not allowed' in p for p in problems), problems


def _asl001(definition: dict[str, Any]) -> list[str]:
    from ceap_templates.validation.rules.asl import check_statelint

    machine = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"Definition": definition}}
    stack = Stack("dev", "x", "S", "S.template.json", {"Resources": {"M": machine}}, 0, "0")
    env = Environment("dev", {"deploy": {"layouts": ["x"]}}, {"x": Layout("x", {"S": stack}, (), ())})
    return [h.message for h in check_statelint(Build(None, {"dev": env}))]


def test_asl001__skips_the_gap_only() -> None:
    assert _asl001(_definition(_map())) == []
    broken = _map()
    broken["ItemProcessor"]["States"]["Part"]["Catch"][0]["Next"] = "PartFailedTypo"
    messages = _asl001(_definition(broken))
    assert any('No state found named "PartFailedTypo"' in m for m in messages), messages
    assert not any("InputType" in m for m in messages), messages


# ---- MaxItems against the largest run the first stage admits -----------------------------------
RUN = {"MAX_CANDIDATES_PER_RUN": 4_000_000, "PART_SIZE": 10_000}


@pytest.mark.parametrize(
    ("sizing", "max_items", "problem"),
    [
        (RUN, 400, None),  # ceil(4,000,000 / 10,000) = 400 parts, no source shards
        (RUN, 399, "ItemReader ReaderConfig.MaxItems is 399; the largest run has 400 items "
                   "(ceil(MAX_CANDIDATES_PER_RUN 4000000 / PART_SIZE 10000) + MAX_SOURCE_SHARDS 0): the items past "
                   "it get no child and the manifest step fails the run; allowed: at least 400"),
        # One partial part per source shard on top of the full ones: 400 + 100 = 500.
        ({**RUN, "MAX_SOURCE_SHARDS": 100}, 400, "the largest run has 500 items"),
        ({**RUN, "MAX_SOURCE_SHARDS": 100}, 500, None),
        ({**RUN, "MAX_CANDIDATES_PER_RUN": 4_000_001}, 400, "the largest run has 401 items"),  # ceil, not floor
    ],
)  # fmt: skip
def test_max_items__covers_the_largest_run(sizing: dict[str, int], max_items: int, problem: str | None) -> None:
    state = _map()
    state["ItemReader"]["ReaderConfig"]["MaxItems"] = max_items
    found = list(reach_problems(state, sizing))
    assert found == [] if problem is None else (len(found) == 1 and problem in found[0]), found


def test_max_items__source_map_reads_up_to_max_source_shards() -> None:
    state = _map()
    state["ItemReader"]["Parameters"]["Key.$"] = "States.Format('executions/{}/ETL/sources.json', $$.Execution.Name)"
    sizing = {**RUN, "MAX_SOURCE_SHARDS": 100}
    for max_items, expected in ((100, 0), (99, 1)):
        state["ItemReader"]["ReaderConfig"]["MaxItems"] = max_items
        found = list(reach_problems(state, sizing))
        assert len(found) == expected, found
    assert "the largest run has 100 items (MAX_SOURCE_SHARDS 100)" in found[0]


def test_first_stage_given_a_run_ten_times_its_size__asl011_not_cap001(base_build: Build) -> None:
    """A run ten times its size: the batch workflow's part Maps' MaxItems 1,100 no longer reach
    ceil(100,000,000 / 10,000) + 100 = 10,100 parts (ASL011), while ETL still works one shard at a
    time, at most 67,108,864 / 32 = 2,097,152 rows, 300 s x 1.5 within its 600 s (CAP001 quiet)."""
    draft = Draft(base_build.environments["dev"])
    template = draft.template("workflows", "CeapWorkflow-batch")
    variables = template["Resources"]["ETLFunction"]["Properties"]["Environment"]["Variables"]
    variables["MAX_CANDIDATES_PER_RUN"] = str(int(variables["MAX_CANDIDATES_PER_RUN"]) * 10)
    findings = custom_findings(draft.finish())
    assert {(f.rule, f.resource) for f in findings} == {("ASL011", "WorkflowStateMachine")}
    reach = sorted(f.message for f in findings)
    assert [m.split(":")[0] for m in reach] == ["Map Filter", "Map Score", "Map Store"]
    assert all("the largest run has 10100 items" in m for m in reach), reach
