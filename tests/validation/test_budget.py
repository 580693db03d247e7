"""ASL010 on hand-written templates: every number below is worked out by hand from the template.

Rule: docs/validation-policy.md "ASL010: time budgets". Attempt = min(Task TimeoutSeconds, the
target's Timeout); each retry of an error AWS does not refuse at start costs an attempt plus
``IntervalSeconds x BackoffRate^k``; a refused one (``Lambda.TooManyRequestsException``, the AWS
Invoke page) its wait only.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ceap_templates.validation.model import Build, Environment, Layout, Stack
from ceap_templates.validation.rules.budget import check_budget

MACHINE = "AWS::StepFunctions::StateMachine"


def _retry(errors: list[str], interval: int = 2, attempts: int = 2) -> list[dict[str, Any]]:
    return [{"ErrorEquals": errors, "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": 2.0}]


def _lambda_task(name: str, nxt: str | None, *, timeout: int | None = None, retry: Any = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"${{{name}Arn}}"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
    }
    if timeout is not None:
        state["TimeoutSeconds"] = timeout
    if retry is not None:
        state["Retry"] = retry
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


def _function(timeout: int) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": timeout}}


def _template(limit: int, states: dict[str, Any], functions: dict[str, int]) -> dict[str, Any]:
    states = {**states, "Failed": {"Type": "Fail", "Error": "E", "Cause": "c"}}
    return {
        "Resources": {
            **{f"{n}Function": _function(t) for n, t in functions.items()},
            "Machine": {
                "Type": MACHINE,
                "Properties": {
                    "StateMachineName": "M",
                    "Definition": {"StartAt": next(iter(states)), "TimeoutSeconds": limit, "States": states},
                    "DefinitionSubstitutions": {f"{n}Arn": {"Fn::GetAtt": [f"{n}Function", "Arn"]} for n in functions},
                },
            },
        }
    }


def _build(*templates: tuple[str, dict[str, Any]]) -> Build:
    stacks = {name: Stack("dev", "x", name, f"{name}.template.json", t, 0, "0") for name, t in templates}
    env = Environment("dev", {"deploy": {"layouts": ["x"]}}, {"x": Layout("x", stacks, (), ())})
    return Build(None, {"dev": env})


def _messages(*templates: tuple[str, dict[str, Any]]) -> list[str]:
    return [h.message for h in check_budget(_build(*templates))]


TRANSIENT = _retry(["Lambda.ServiceException"])  # 2 retries: 2 whole attempts + 2 s + 4 s
#: Two stages: A 10 s x 3 + 6 s = 36 s; B 20 s x 3 + 6 s = 66 s; path 102 s.
TWO_STAGES = {"A": _lambda_task("A", "B", timeout=10, retry=TRANSIENT), "B": _lambda_task("B", None, retry=TRANSIENT)}


def test_fits__no_finding() -> None:
    assert _messages(("S", _template(102, TWO_STAGES, {"A": 10, "B": 20}))) == []


def test_one_second_over__finding_names_machine_total_contributors_and_limit() -> None:
    [message] = _messages(("S", _template(101, TWO_STAGES, {"A": 10, "B": 20})))
    assert message.startswith("machine M: worst case 102 s on A > B")
    assert "exceeds TimeoutSeconds 101" in message
    assert "biggest: B 66 s = 20 s (function BFunction Timeout) + 2 retries of 20 s + 6 s waits; A 36 s" in message


def test_attempt__the_smaller_of_task_and_function_timeout() -> None:
    # A's function allows 300 s but its Task gives up after 10 s: 36 s, as above.
    states = {"A": _lambda_task("A", None, timeout=400, retry=TRANSIENT)}
    # Task 400 s, function 10 s: the function bounds the attempt, 3 x 10 + 6 = 36 s.
    assert _messages(("S", _template(36, states, {"A": 10}))) == []
    assert _messages(("S", _template(35, states, {"A": 10}))) != []


def test_lambda_task_shorter_than_its_function__finding() -> None:
    [message, *_] = _messages(("S", _template(10_000, TWO_STAGES, {"A": 300, "B": 20})))
    assert message == (
        "machine M: state A: TimeoutSeconds 10 < function AFunction Timeout 300: the function runs on after the "
        "state gave up"
    )


def test_refused_at_start__costs_its_wait_only() -> None:
    throttled = {"A": _lambda_task("A", None, retry=_retry(["Lambda.TooManyRequestsException"], interval=5))}
    # 60 s + 5 s + 10 s waits, no extra attempt.
    assert _messages(("S", _template(75, throttled, {"A": 60}))) == []
    assert _messages(("S", _template(74, throttled, {"A": 60}))) != []


def test_mixed_retrier__any_error_not_refused_costs_whole_attempts() -> None:
    mixed = _retry(["Lambda.TooManyRequestsException", "States.ALL"], interval=5)
    states = {"A": _lambda_task("A", None, retry=mixed)}
    assert _messages(("S", _template(194, states, {"A": 60}))) != []  # 3 x 60 + 15 = 195
    assert _messages(("S", _template(195, states, {"A": 60}))) == []


def test_retrier_defaults__three_attempts_one_second_backoff_two() -> None:
    states = {"A": _lambda_task("A", None, retry=[{"ErrorEquals": ["States.ALL"]}])}
    # 4 x 10 s + (1 + 2 + 4) s = 47 s.
    assert _messages(("S", _template(47, states, {"A": 10}))) == []
    assert _messages(("S", _template(46, states, {"A": 10}))) != []


def test_unbounded_task__finding() -> None:
    states = {
        "A": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:1:function:elsewhere"},
            "End": True,
        }
    }
    [message] = _messages(("S", _template(300, states, {})))
    assert "Task A has no TimeoutSeconds and its target has no known bound" in message
    assert "99999999" in message


def test_longest_branch__choice_takes_the_slower_way() -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Slow"}],
            "Default": "Fast",
        },
        "Fast": _lambda_task("Fast", None, timeout=5),
        "Slow": {"Type": "Wait", "Seconds": 50, "Next": "Fast"},
    }
    assert _messages(("S", _template(55, states, {"Fast": 5}))) == []
    [message] = _messages(("S", _template(54, states, {"Fast": 5})))
    assert "worst case 55 s on Pick > Slow > Fast" in message


def test_loop__finding() -> None:
    states = {"A": {"Type": "Wait", "Seconds": 1, "Next": "B"}, "B": {"Type": "Wait", "Seconds": 1, "Next": "A"}}
    [message] = _messages(("S", _template(300, states, {})))
    assert "loop through state" in message


def _nested(limit: int, task_timeout: int | None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "${Child}"},
        "Retry": _retry(["StepFunctions.AWSStepFunctionsException"], interval=20),
        "End": True,
    }
    if task_timeout:
        state["TimeoutSeconds"] = task_timeout
    return {
        "Resources": {
            "Parent": {
                "Type": MACHINE,
                "Properties": {
                    "StateMachineName": "Parent",
                    "Definition": {"StartAt": "Run", "TimeoutSeconds": limit, "States": {"Run": state}},
                    "DefinitionSubstitutions": {
                        "Child": {
                            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                            "stateMachine:Child"
                        }
                    },
                },
            }
        }
    }


def _child(limit: int) -> dict[str, Any]:
    states = {"W": {"Type": "Wait", "Seconds": 1, "End": True}}
    definition = {"StartAt": "W", "TimeoutSeconds": limit, "States": states}
    return {
        "Resources": {"C": {"Type": MACHINE, "Properties": {"StateMachineName": "Child", "Definition": definition}}}
    }


@pytest.mark.parametrize(("parent_limit", "found"), [(3660, False), (3659, True)])
def test_nested_machine__bounded_by_its_timeout_in_another_template(parent_limit: int, found: bool) -> None:
    # Child 1,200 s x 3 attempts + 20 s + 40 s = 3,660 s.
    messages = _messages(("P", _nested(parent_limit, None)), ("C", _child(1200)))
    assert bool(messages) is found
    if found:
        assert "machine Child TimeoutSeconds" in messages[0]


def test_nested_machine_not_deployed_with_it__task_timeout_needed() -> None:
    [message] = _messages(("P", _nested(100_000, None)))
    assert "Task Run has no TimeoutSeconds" in message
    assert _messages(("P", _nested(100_000, 600))) == []


def test_import_value__function_of_a_sibling_stack() -> None:
    consumer = _template(36, {"A": _lambda_task("A", None, retry=TRANSIENT)}, {})
    machine = consumer["Resources"]["Machine"]["Properties"]
    machine["DefinitionSubstitutions"] = {"AArn": {"Fn::ImportValue": {"Fn::Sub": "${Producer}-AArn"}}}
    consumer["Parameters"] = {"Producer": {"Type": "String", "Default": "P"}}
    producer = {
        "Resources": {"AFunction": _function(10)},
        "Outputs": {
            "AArn": {
                "Value": {"Fn::GetAtt": ["AFunction", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-AArn"}},
            }
        },
    }
    assert _messages(("C", consumer), ("P", producer)) == []
    slower = copy.deepcopy(producer)
    slower["Resources"]["AFunction"] = _function(11)
    assert _messages(("C", consumer), ("P", slower)) != []  # 3 x 11 + 6 = 39 > 36


# ---- a Distributed Map: ceil(MaxItems / MaxConcurrency) waves of its child's longest path ---------
def _map(items: int | None, concurrency: int | None, nxt: str | None = None) -> dict[str, Any]:
    """A Map over a child running A (function 10 s, TRANSIENT: 36 s per child, as above)."""
    reader: dict[str, Any] = {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"}}
    if items is not None:
        reader["ReaderConfig"]["MaxItems"] = items
    child = _lambda_task("A", None, timeout=10, retry=TRANSIENT)
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": reader,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Part",
            "States": {"Part": child, "Failed": {"Type": "Fail", "Error": "E", "Cause": "c"}},
        },
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
    }
    if concurrency is not None:
        state["MaxConcurrency"] = concurrency
    state.update({"Next": nxt} if nxt else {"End": True})
    return state


@pytest.mark.parametrize(
    ("items", "concurrency", "waves", "worst"),
    [
        (7, 3, 3, 108),  # ceil(7 / 3) = 3 waves x 36 s
        (6, 3, 2, 72),  # 2 waves: a full last wave costs no more
        (7, 100, 1, 36),  # more children allowed than items: one wave
        (7, 1, 7, 252),  # one at a time: 7 x 36 s
    ],
)
def test_map__waves_of_its_child(items: int, concurrency: int, waves: int, worst: int) -> None:
    states = {"Parts": _map(items, concurrency)}
    assert _messages(("S", _template(worst, states, {"A": 10}))) == []
    [message] = _messages(("S", _template(worst - 1, states, {"A": 10})))
    # The path follows the Map's Catch edge to its Fail state (0 s).
    assert message.startswith(f"machine M: worst case {worst} s on Parts > Failed exceeds TimeoutSeconds {worst - 1}")
    assert f"Parts {worst} s = {worst} s ({waves} waves of {concurrency} children of 36 s ({items} items))" in message


def test_map_then_manifest__both_on_the_path() -> None:
    # Map 3 waves x 36 s = 108 s, then B (function 20 s, TRANSIENT) 66 s: 174 s.
    states = {"Parts": _map(7, 3, "B"), "B": _lambda_task("B", None, retry=TRANSIENT)}
    assert _messages(("S", _template(174, states, {"A": 10, "B": 20}))) == []
    [message] = _messages(("S", _template(173, states, {"A": 10, "B": 20})))
    assert "worst case 174 s on Parts > B > Failed" in message


def test_map_child_timeout__bounded_by_its_function() -> None:
    # The child Task allows 400 s but its function 10 s: still 36 s a child, 108 s in all.
    states = {"Parts": _map(7, 3)}
    states["Parts"]["ItemProcessor"]["States"]["Part"]["TimeoutSeconds"] = 400
    assert _messages(("S", _template(108, states, {"A": 10}))) == []
    assert _messages(("S", _template(107, states, {"A": 10}))) != []


@pytest.mark.parametrize(
    ("items", "concurrency", "reason"),
    [
        (None, 3, "Map state Parts: no ItemReader ReaderConfig.MaxItems, so its items have no static bound"),
        (7, None, "Map state Parts: no MaxConcurrency, so its waves have no static bound"),
        (0, 3, "Map state Parts: no ItemReader ReaderConfig.MaxItems, so its items have no static bound"),
    ],
)
def test_map_without_its_bounds__unbounded(items: int | None, concurrency: int | None, reason: str) -> None:
    [message] = _messages(("S", _template(10**8, {"Parts": _map(items, concurrency)}, {"A": 10})))
    assert message == f"machine M: {reason}"
