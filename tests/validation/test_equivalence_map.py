"""Unit tests of the Map interpretation of ``equivalence.LayoutRuntime`` on hand-written machines.

Each machine is a tiny template (one function, one bucket, one state machine) written here, so
every expected trace below is worked out by hand from the definition in the test: Amazon States
Language semantics as the AWS Step Functions developer guide states them ("Map state",
"ItemSelector (Map)", "ItemReader (Map)", "Context object": ``$$.Map.Item`` is available in a Map's
``ItemSelector``, not in the states of its ``ItemProcessor``; "ResultPath", "OutputPath").
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ceap_templates.validation.equivalence import Invocation, LayoutRuntime, TraceError
from ceap_templates.validation.model import stack_from_text

from .strategies import single_stack_environment

INVOKE = "arn:aws:states:::lambda:invoke"
READ = "arn:aws:states:::s3:getObject"
#: What the trace says of the template's function and bucket (written out from TEMPLATE below).
FUNCTION = {
    "function": "Fn",
    "Handler": "h.handler",
    "Runtime": "python3.12",
    "Code": {"ZipFile": "def handler(event, context): return {}"},
    "MemorySize": 128,
    "Timeout": 10,
}
BUCKET = {"type": "AWS::S3::Bucket", "name": "items-bucket"}
#: The tracer's stand-in for an item read from S3 (equivalence.SYMBOLIC_MAP_ITEM, written out).
ITEM = {"key": "<item key>", "count": 1, "index": 0}
REQUEST = {"x": 1, "request": {"programId": "p"}}


def _child(payload: Any) -> dict[str, Any]:
    """A Lambda task invoking ``Fn`` with ``payload``, discarding its result, ending."""
    return {
        "Type": "Task",
        "Resource": INVOKE,
        "Parameters": {"FunctionName": "${Fn}", **payload},
        "ResultPath": None,
        "End": True,
    }


def _distributed(**fields: Any) -> dict[str, Any]:
    """A Distributed Map over ``runs/{execution}/items.json`` whose child invokes ``Fn`` with its input."""
    return {
        "Type": "Map",
        "ItemReader": {
            "Resource": READ,
            "ReaderConfig": {"InputType": "JSON", "MaxItems": 10},
            "Parameters": {"Bucket": "${Bucket}", "Key.$": "States.Format('runs/{}/items.json', $$.Execution.Name)"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Child",
            "States": {"Child": _child({"Payload.$": "$"})},
        },
        "ResultPath": None,
        "End": True,
        **fields,
    }


def _then(state: dict[str, Any], following: str) -> dict[str, Any]:
    """``state`` going on to ``following`` instead of ending."""
    state = dict(state)
    del state["End"]
    return {**state, "Next": following}


def _trace(states: dict[str, Any], start: str = "M", request: Any = None) -> list[Invocation]:
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Handler": "h.handler",
                    "Runtime": "python3.12",
                    "Code": {"ZipFile": "def handler(event, context): return {}"},
                    "MemorySize": 128,
                    "Timeout": 10,
                },
            },
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "items-bucket"}},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": "tiny",
                    "Definition": {"StartAt": start, "States": states},
                    "DefinitionSubstitutions": {"Fn": {"Fn::GetAtt": ["Fn", "Arn"]}, "Bucket": {"Ref": "Bucket"}},
                },
            },
        }
    }
    stack = stack_from_text("dev", "workflows", "Tiny", "Tiny.template.json", json.dumps(template).encode("utf-8"))
    runtime = LayoutRuntime(single_stack_environment(stack), "workflows")
    return runtime.start_execution("Machine", copy.deepcopy(REQUEST if request is None else request), "run-1")


def _reader(key: str = "runs/run-1/items.json") -> Invocation:
    return Invocation("Machine", "M", READ, BUCKET, {"Key": key, "ReaderConfig": {"InputType": "JSON", "MaxItems": 10}})


def test_item_selector_takes_the_item_its_index_the_input_and_the_execution() -> None:
    selector = {
        "part.$": "$$.Map.Item.Value",
        "position.$": "$$.Map.Item.Index",
        "x.$": "$.x",
        "executionId.$": "$$.Execution.Name",
        "bucket": "${Bucket}",
        "fixed": "Filter",
    }
    trace = _trace({"M": _distributed(ItemSelector=selector)})
    payload = {"part": ITEM, "position": 0, "x": 1, "executionId": "run-1", "bucket": BUCKET, "fixed": "Filter"}
    assert trace == [_reader(), Invocation("Machine", "Child", INVOKE, FUNCTION, payload)]


def test_without_item_selector_the_child_input_is_the_item() -> None:
    trace = _trace({"M": _distributed()})
    assert trace == [_reader(), Invocation("Machine", "Child", INVOKE, FUNCTION, ITEM)]


def test_a_processor_of_several_states_then_the_next_state_gets_the_map_input() -> None:
    """Pass then Task inside the Map; after the Map (ResultPath null) the next Task sees the Map's raw input."""
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "Shape",
        "States": {
            "Shape": {"Type": "Pass", "Parameters": {"key.$": "$.part.key", "stage": "Score"}, "Next": "Child"},
            "Child": _child({"Payload.$": "$"}),
        },
    }
    states = {
        "M": _then(_distributed(ItemSelector={"part.$": "$$.Map.Item.Value"}, ItemProcessor=processor), "After"),
        "After": _child({"Payload.$": "$.request"}),
    }
    trace = _trace(states)
    assert [(i.state, i.payload) for i in trace] == [
        ("M", {"Key": "runs/run-1/items.json", "ReaderConfig": {"InputType": "JSON", "MaxItems": 10}}),
        ("Child", {"key": "<item key>", "stage": "Score"}),
        ("After", {"programId": "p"}),
    ]


def test_map_input_path_and_output_path_null() -> None:
    """InputPath selects what the ItemSelector's ``$`` is; OutputPath null hands ``{}`` to the next state."""
    selector = {"id.$": "$.programId", "v.$": "$$.Map.Item.Value.key"}
    states = {
        "M": _then(_distributed(InputPath="$.request", ItemSelector=selector, OutputPath=None), "After"),
        "After": _child({"Payload.$": "$"}),
    }
    trace = _trace(states)
    assert [(i.state, i.payload) for i in trace][1:] == [("Child", {"id": "p", "v": "<item key>"}), ("After", {})]


def test_inline_map_over_items_path_runs_every_item_in_order() -> None:
    state = {
        "Type": "Map",
        "ItemsPath": "$.list",
        "ItemSelector": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "x.$": "$.x"},
        "ItemProcessor": {"StartAt": "Child", "States": {"Child": _child({"Payload.$": "$"})}},
        "ResultPath": None,
        "End": True,
    }
    trace = _trace({"M": state}, request={"x": 7, "list": ["a", "b"]})
    assert [(i.state, i.integration, i.payload) for i in trace] == [
        ("Child", INVOKE, {"value": "a", "index": 0, "x": 7}),
        ("Child", INVOKE, {"value": "b", "index": 1, "x": 7}),
    ]


def test_a_changed_item_selector_changes_the_trace() -> None:
    good = _trace({"M": _distributed(ItemSelector={"part.$": "$$.Map.Item.Value"})})
    bad = _trace({"M": _distributed(ItemSelector={"part.$": "$$.Map.Item.Index"})})
    assert good[0] == bad[0] and good[1] != bad[1]
    assert (good[1].payload, bad[1].payload) == ({"part": ITEM}, {"part": 0})


def test_map_item_is_not_visible_inside_the_processor() -> None:
    state = _distributed()
    state["ItemProcessor"]["States"]["Child"] = _child({"Payload": {"v.$": "$$.Map.Item.Value"}})
    with pytest.raises(TraceError, match=r"\$\$\.Map\.Item\.Value is not present"):
        _trace({"M": state})


def test_a_distributed_child_is_an_execution_of_its_own() -> None:
    state = _distributed()
    state["ItemProcessor"]["States"]["Child"] = _child({"Payload": {"run.$": "$$.Execution.Name"}})
    (_, child) = _trace({"M": state})
    assert child.payload["run"] != "run-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ResultPath": "$.results"}, "keeps its result in the state"),
        ({"ItemBatcher": {"MaxItemsPerBatch": 10}}, "Map field ItemBatcher is not interpreted"),
        ({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}, "Map field ResultWriter is not interpreted"),
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {}}}, "is not interpreted"),
        ({"ItemProcessor": "Child"}, "Map has no ItemProcessor"),
    ],
)
def test_what_is_not_interpreted_raises(change: dict[str, Any], message: str) -> None:
    state = {**_distributed(), **change}
    with pytest.raises(TraceError, match=message):
        _trace({"M": state})


def test_parallel_is_not_interpreted() -> None:
    """No machine of the platform has a Parallel state: the walk refuses one rather than guess."""
    parallel = {"Type": "Parallel", "Branches": [], "End": True}
    with pytest.raises(TraceError, match="state type 'Parallel' is not interpreted"):
        _trace({"M": parallel})
