"""CAP001 on hand-written functions: every figure below is worked out by hand.

Rule: docs/validation-policy.md "CAP001: sizing". The costs are the policy's measured literals
(scripts/bench/bench_parts.py, 2026-12-03): Filter holds 5,090 B and works 16,252 candidates/s,
Score 8,210 B and 7,923/s, Store 10,000 B and 821/s, on one vCPU. A function holds 80 MB before
any candidate; below 1,769 MB it gets that share of a vCPU
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); Store's children share
4,000 writes/s (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html);
each need x 1.5 must fit. 1 MB = 1,048,576 B. A re-measured figure changes these numbers on purpose.
"""

from __future__ import annotations

from typing import Any

import pytest

from ceap_templates.validation.model import Build, Environment, Layout, Stack
from ceap_templates.validation.rules.sizing import check_sizing, function_problems

from .expected import HANDLERS

FILTER, SCORE, STORE = HANDLERS["Filter"], HANDLERS["Score"], HANDLERS["Store"]


def _function(handler: str, memory: int | None, timeout: int | None, **variables: str) -> dict[str, Any]:
    values: dict[str, Any] = {"Handler": handler, "Environment": {"Variables": {"LOG_LEVEL": "INFO", **variables}}}
    if memory is not None:
        values["MemorySize"] = memory
    if timeout is not None:
        values["Timeout"] = timeout
    return values


def _problems(values: dict[str, Any], concurrency: int = 1) -> list[str]:
    return list(function_problems(values, concurrency))


# ---- memory: 80 MB + the part held --------------------------------------------------------------
@pytest.mark.parametrize(("memory", "fits"), [(193, True), (192, False)])
def test_filter_part__needs_193_mb(memory: int, fits: bool) -> None:
    # 80 + 10,000 x 5,090 / 1,048,576 = 80 + 48.54 = 128.54 MB; x 1.5 = 192.81 MB.
    # Time at 193 MB: 10,000 / 16,252 = 0.615 s x 1,769 / 193 = 5.64 s; x 1.5 = 8.46 s < 60.
    problems = _problems(_function(FILTER, memory, 60, PART_SIZE="10000"))
    assert problems == ([] if fits else [problems[0]])
    if not fits:
        assert problems[0] == (
            "at PART_SIZE 10000 it needs about 129 MB; MemorySize 192 leaves less than x1.5 headroom "
            "(allowed: at least 193)"
        )


def test_memory_and_timeout_left_out__lambdas_defaults_128_mb_and_3_s() -> None:
    # MemorySize 128 < 192.81 MB; at 128 MB: 0.615 s x 1,769 / 128 = 8.50 s, x 1.5 = 12.76 s > 3 s.
    problems = _problems(_function(FILTER, None, None, PART_SIZE="10000"))
    assert len(problems) == 2
    assert "MemorySize 128" in problems[0] and "allowed: at least 193" in problems[0]
    assert "Timeout 3" in problems[1] and "allowed: at least 13" in problems[1]


def test_score_part__needs_238_mb() -> None:
    # 80 + 10,000 x 8,210 / 1,048,576 = 158.30 MB; x 1.5 = 237.44 MB.
    assert _problems(_function(SCORE, 238, 120, PART_SIZE="10000")) == []
    [problem] = _problems(_function(SCORE, 237, 120, PART_SIZE="10000"))
    assert "it needs about 158 MB; MemorySize 237" in problem


# ---- time: candidates worked, slower below one vCPU -------------------------------------------------
@pytest.mark.parametrize(("timeout", "fits"), [(9, True), (8, False)])
def test_filter_part_at_193_mb__slowed_to_its_cpu_share(timeout: int, fits: bool) -> None:
    # 0.615 s x 9.166 (1,769 / 193) = 5.64 s; x 1.5 = 8.46 s.
    assert (_problems(_function(FILTER, 193, timeout, PART_SIZE="10000")) == []) is fits


@pytest.mark.parametrize("memory", [1769, 3538])
def test_one_vcpu_or_more__no_faster_for_one_thread(memory: int) -> None:
    # Score: 10,000 / 7,923 = 1.262 s; x 1.5 = 1.89 s; a second vCPU does not help one thread.
    assert _problems(_function(SCORE, memory, 2, PART_SIZE="10000")) == []
    [problem] = _problems(_function(SCORE, memory, 1, PART_SIZE="10000"))
    assert "it needs about 1 s; Timeout 1" in problem


@pytest.mark.parametrize(("timeout", "fits"), [(93, True), (92, False)])
def test_first_stage__works_the_whole_run_holds_one_part(timeout: int, fits: bool) -> None:
    # With MAX_CANDIDATES_PER_RUN the function streams the run: 1,000,000 / 16,252 = 61.53 s,
    # x 1.5 = 92.30 s at 1,769 MB; its memory stays one part's (192.81 MB).
    values = _function(FILTER, 1769, timeout, PART_SIZE="10000", MAX_CANDIDATES_PER_RUN="1000000")
    problems = _problems(values)
    assert (problems == []) is fits
    if not fits:
        assert problems[0].startswith("at PART_SIZE 10000, MAX_CANDIDATES_PER_RUN 1000000 (Map concurrency 1)")
        assert "it needs about 62 s; Timeout 92" in problems[0]
    assert _problems({**values, "MemorySize": 192, "Timeout": 10_000})[0].startswith("at PART_SIZE 10000, MAX")


@pytest.mark.parametrize(("timeout", "fits"), [(13, True), (12, False)])
def test_express_store__the_whole_request(timeout: int, fits: bool) -> None:
    # 2,000 / 821 = 2.436 s x 3.455 (1,769 / 512) = 8.42 s; x 1.5 = 12.63 s.
    # Memory: 80 + 2,000 x 10,000 / 1,048,576 = 99.07 MB; x 1.5 = 148.6 MB < 512.
    assert (_problems(_function(STORE, 512, timeout, EXPRESS_MAX_CANDIDATES="2000")) == []) is fits


# ---- Store: its Map's children share the table --------------------------------------------------
@pytest.mark.parametrize(("concurrency", "timeout", "fits"), [(25, 94, True), (25, 93, False), (1, 19, True)])
def test_store_part__the_slower_of_its_cpu_and_the_shared_table(concurrency: int, timeout: int, fits: bool) -> None:
    # CPU: 10,000 / 821 = 12.18 s, x 1.5 = 18.27 s (at 1,769 MB). Table: 25 children x 10,000
    # writes / 4,000 per s = 62.5 s, x 1.5 = 93.75 s; one child 2.5 s, so its CPU bounds it.
    values = _function(STORE, 1769, timeout, PART_SIZE="10000")
    assert (_problems(values, concurrency) == []) is fits


def test_table_share__only_the_table_writer() -> None:
    # Score at 25 children: 1.262 s x 1.5 = 1.89 s, whatever the concurrency.
    assert _problems(_function(SCORE, 1769, 2, PART_SIZE="10000"), 25) == []


# ---- what it does not size -----------------------------------------------------------------------
@pytest.mark.parametrize("raw", ["ten", "0", "-5"])
def test_malformed_sizing_variable__named(raw: str) -> None:
    assert _problems(_function(FILTER, 512, 60, PART_SIZE=raw)) == [f"PART_SIZE is {raw!r}; expected an integer > 0"]


def test_unsized_functions__no_finding() -> None:
    assert _problems(_function(HANDLERS["Reactive"], 128, 3, PART_SIZE="10000000")) == []  # works no candidates
    assert _problems(_function(FILTER, 128, 3)) == []  # no sizing variable: not a stage of a sized run


# ---- the rule on templates: the Map's MaxConcurrency reaches the function -------------------------
def _stack(name: str, template: dict[str, Any]) -> Stack:
    return Stack("dev", "x", name, f"{name}.template.json", template, 0, "0")


def _build(*stacks: Stack) -> Build:
    env = Environment("dev", {"deploy": {"layouts": ["x"]}}, {"x": Layout("x", {s.name: s for s in stacks}, (), ())})
    return Build(None, {"dev": env})


def _store_map(concurrency: int) -> dict[str, Any]:
    child = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${StoreArn}", "Payload.$": "$"},
        "End": True,
    }
    return {
        "Type": "Map",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "Part", "States": {"Part": child}},
        "MaxConcurrency": concurrency,
        "End": True,
    }


def _machine(function_arn: Any, concurrency: int) -> dict[str, Any]:
    definition = {"StartAt": "Store", "TimeoutSeconds": 3600, "States": {"Store": _store_map(concurrency)}}
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"Definition": definition, "DefinitionSubstitutions": {"StoreArn": function_arn}},
    }


def _store_function(timeout: int) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": _function(STORE, 1769, timeout, PART_SIZE="10000")}


def test_map_concurrency__from_the_map_invoking_the_function() -> None:
    # As above: 25 children need 93.75 s; 94 fits, 93 does not.
    for timeout, expected in ((94, 0), (93, 1)):
        template = {
            "Resources": {
                "StoreFunction": _store_function(timeout),
                "Machine": _machine({"Fn::GetAtt": ["StoreFunction", "Arn"]}, 25),
            }
        }
        hits = list(check_sizing(_build(_stack("S", template))))
        assert len(hits) == expected, [h.message for h in hits]
    assert "(Map concurrency 25)" in hits[0].message


@pytest.mark.parametrize(("timeout", "expected"), [(94, 0), (93, 1)])
def test_map_concurrency__through_an_import_of_a_sibling_stack(timeout: int, expected: int) -> None:
    # The legacy layout's orchestration machine reaches a workflow stack's function through
    # Fn::ImportValue: its Map's 25 children still share the table (93.75 s, as above).
    producer = {
        "Resources": {"StoreFunction": _store_function(timeout)},
        "Outputs": {
            "StoreArn": {
                "Value": {"Fn::GetAtt": ["StoreFunction", "Arn"]},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-StoreArn"}},
            }
        },
    }
    consumer = {"Resources": {"Machine": _machine({"Fn::ImportValue": "P-StoreArn"}, 25)}}
    hits = list(check_sizing(_build(_stack("P", producer), _stack("C", consumer))))
    assert [(h.location, h.resource) for h in hits] == [("dev/P", "StoreFunction")] * expected, hits
    assert all("(Map concurrency 25)" in h.message for h in hits)


def _etl_stack(**variables: str) -> Stack:
    function = {"Type": "AWS::Lambda::Function", "Properties": _function(HANDLERS["ETL"], 1769, 900, **variables)}
    return _stack("S", {"Resources": {"ETLFunction": function}})


def test_first_stage_without_a_run_limit__reported() -> None:
    # No Map invokes it, so one invocation streams the whole run: PART_SIZE bounds its memory, and
    # nothing bounds its time (lambdas/ceap_handlers/contract/parts.py: unset means no limit).
    [found] = list(check_sizing(_build(_etl_stack(PART_SIZE="10000"))))
    assert found.resource == "ETLFunction"
    assert "PART_SIZE 10000 without MAX_CANDIDATES_PER_RUN, and no Map deployed with it invokes it" in found.message
    assert "allowed: MAX_CANDIDATES_PER_RUN set (maxCandidatesPerRun)" in found.message
    # With the limit: 1,000,000 / 7,000 ETL rows/s = 142.9 s x 1.5 = 214 s < 900 s.
    assert list(check_sizing(_build(_etl_stack(PART_SIZE="10000", MAX_CANDIDATES_PER_RUN="1000000")))) == []
