"""Seed 002 properties about templates and configuration, over generated workflows and environments.

Each example builds one ``CeapWorkflow-{name}`` stack (or one platform stack) from a generated
configuration, runs the rules that judge a stack on its own, and checks the property directly on
the template. Property numbers and titles are seed 002's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_templates import configuration
from ceap_templates.configuration import Workflow
from ceap_templates.errors import ConfigErrors
from ceap_templates.validation.engine import run
from ceap_templates.validation.equivalence import LayoutRuntime
from ceap_templates.validation.model import Stack, build_from_environments
from ceap_templates.validation.rules import all_rules

from .expected import (
    DATA_PLATFORM,
    DLQ_RETENTION_SECONDS,
    EXECUTIONS_EXPIRY_DAYS,
    EXECUTIONS_PREFIX,
    EXPRESS_LAMBDA_RETRY,
    EXPRESS_MAX_TIMEOUT_SECONDS,
    GLUE_RETRY,
    GLUE_START_JOB_RUN_SYNC,
    GLUE_TIMEOUT_MINUTES,
    GLUE_WORKER_TYPE,
    GLUE_WORKERS,
    LAMBDA_INVOKE,
    LAMBDA_RETRY,
    MAX_RECEIVE_COUNT,
    PART_WISE_STAGES,
    PERMANENT_ERROR,
    SERVING_API,
    UNSCOPED_ACTIONS,
    glue_job_name,
    workflow_bucket_name,
    workflow_queue_name,
)
from .strategies import (
    _BASE,
    base_environment,
    platform_environments,
    platform_stack,
    requests,
    single_stack_environment,
    stack_settings,
    workflow_docs,
    workflow_stack,
    workflows,
)

FEATURE = "infrastructure-enhancement"
#: Rules that judge one stack on its own (no manifest, no other stack needed).
STACK_RULES = tuple(
    r
    for r in all_rules()
    if r.id.startswith(("ASL", "NAME", "IAM", "SEC", "OPS", "DATA", "PIPE", "LIM")) and r.id != "IAM004"
)


def _findings(stack: Stack, settings: dict[str, Any] | None = None, *prefixes: str) -> list[str]:
    settings = settings or {}
    env = single_stack_environment(stack, settings.get("retain", False), settings.get("explicit", True))
    rules = [r for r in STACK_RULES if not prefixes or r.id.startswith(prefixes)]
    return [str(f) for f in run(build_from_environments([env]), rules)]


def _built(workflow: Workflow, settings: dict[str, Any] | None = None) -> Stack:
    settings = settings or {}
    env = base_environment(**settings) if settings else None
    return workflow_stack(workflow, env)


def _props(stack: Stack, logical_id: str) -> dict[str, Any]:
    result: dict[str, Any] = stack.resources[logical_id]["Properties"]
    return result


def _machine(stack: Stack) -> dict[str, Any]:
    return _props(stack, "WorkflowStateMachine")


def _task_chain(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Tasks on the success path from StartAt (through the input normalisation)."""
    states, current, chain = definition["States"], definition["StartAt"], []
    while current:
        state = states[current]
        if state["Type"] == "Task":
            chain.append((current, state))
        if state["Type"] == "Choice":
            current = state["Default"]
            continue
        current = None if state.get("End") else state.get("Next")
    return chain


MAP = "Map"


def _work_chain(definition: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(state, Resource or "Map", state)`` of the Task and Map states on the success path."""
    states, current, chain = definition["States"], definition["StartAt"], []
    while current:
        state = states[current]
        if state["Type"] in ("Task", MAP):
            chain.append((current, state.get("Resource", MAP), state))
        if state["Type"] == "Choice":
            current = state["Default"]
            continue
        current = None if state.get("End") else state.get("Next")
    return chain


#: Stages that read the program's sources: first in a sharded (standard) workflow, such a stage
#: plans the source into shards (``{Step}Plan``, payload ``"output": "plan"``), runs once per shard
#: under a Distributed Map over its own ``sources.json`` (``{Step}Part``) and writes its manifest
#: (``{Step}Manifest``, ``"collectSources": true``): config/environments.yaml ``sizing``, "ETL runs
#: once per shard"; ETL alone reads sources (docs/design.md "Sizing", lambdas/README.md).
SOURCE_STAGES = ("ETL",)


def _expected_work(workflow: Workflow) -> list[tuple[str, str, str]]:
    """``(state, Resource or "Map", step)`` a workflow's steps become (issue 16 for the Maps)."""
    found: list[tuple[str, str, str]] = []
    for index, step in enumerate(workflow.steps):
        if step.is_glue:
            found.append((step.name, GLUE_START_JOB_RUN_SYNC, step.name))
        elif not workflow.is_express and index == 0 and step.name in SOURCE_STAGES:
            found += [
                (f"{step.name}Plan", LAMBDA_INVOKE, step.name),
                (step.name, MAP, step.name),
                (f"{step.name}Manifest", LAMBDA_INVOKE, step.name),
            ]
        elif not workflow.is_express and index > 0 and step.name in PART_WISE_STAGES:
            found += [(step.name, MAP, step.name), (f"{step.name}Manifest", LAMBDA_INVOKE, step.name)]
        else:
            found.append((step.name, LAMBDA_INVOKE, step.name))
    return found


def _statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    return [s for p in _props(stack, role)["Policies"] for s in p["PolicyDocument"]["Statement"]]


# ---- naming ---------------------------------------------------------------------------------
@given(workflow=workflows(), settings=stack_settings)
def test_property_1__lambda_function_name_format(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 1: Lambda Function Name Format.

    Every function is ``{StackName}-{Purpose}Lambda``: the stack once, no environment repeated,
    within 64 characters, whatever the environment's naming mode (workflow stacks are named).
    """
    stack = _built(workflow, settings)
    names = {i: _props(stack, i).get("FunctionName") for i, _ in stack.of_type("AWS::Lambda::Function")}
    expected = {f"{s.name}Function": f"{stack.name}-{s.name}Lambda" for s in workflow.steps if not s.is_glue}
    assert names == expected
    assert all(len(n) <= 64 and n.count(stack.name) == 1 for n in names.values())
    assert _findings(stack, settings, "NAME") == []


@given(env=platform_environments, role=st.sampled_from([DATA_PLATFORM, SERVING_API]))
def test_property_38__dual_naming(env: configuration.Environment, role: str) -> None:
    """Feature: infrastructure-enhancement, Property 38: Dual Naming Pattern Support.

    ``physicalNames: explicit`` names functions and the hand-off bucket; ``generated`` leaves
    them to CloudFormation (beside the legacy stacks nothing collides); NAME003 agrees.
    """
    stack = platform_stack(env, role)
    explicit = env.physical_names == "explicit"
    for _, function in stack.of_type("AWS::Lambda::Function"):
        name = function["Properties"].get("FunctionName")
        assert (name is not None) == explicit
        if name:
            assert name.startswith(f"{stack.name}-") and name.endswith("Lambda")
    for _, bucket in stack.of_type("AWS::S3::Bucket"):
        assert ("BucketName" in bucket["Properties"]) == explicit
    assert _findings(stack, {"explicit": explicit, "retain": env.retain_data}, "NAME") == []


# ---- S3 -------------------------------------------------------------------------------------
@given(workflow=workflows(), settings=stack_settings)
def test_property_7__s3_lifecycle_policy(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 7: S3 Lifecycle Policy.

    The workflow bucket deletes ``executions/`` objects after 7 days; it is encrypted, private
    and TLS-only.
    """
    stack = _built(workflow, settings)
    rules = _props(stack, "WorkflowBucket")["LifecycleConfiguration"]["Rules"]
    expiring = [r for r in rules if r.get("Prefix") == EXECUTIONS_PREFIX and r["Status"] == "Enabled"]
    assert [r["ExpirationInDays"] for r in expiring] == [EXECUTIONS_EXPIRY_DAYS]
    assert _findings(stack, settings, "DATA003", "SEC") == []


@given(workflow=workflows())
def test_property_40__s3_iam_permissions(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 40: S3 IAM Permissions.

    Stage roles read and write objects only under ``executions/`` of their workflow bucket (ETL
    also reads ``sources/``), list only those prefixes; Glue roles add their temp prefix.
    """
    stack = _built(workflow)
    for step in workflow.steps:
        role = f"{step.name}GlueJobRole" if step.is_glue else f"{step.name}FunctionRole"
        s3 = [s for s in _statements(stack, role) if any(str(a).startswith("s3:") for a in s["Action"])]
        assert s3
        for statement in s3:
            for resource in statement["Resource"]:
                text = json.dumps(resource)
                if "ArtifactBucket" in text or "Artifacts" in text:
                    assert statement["Action"] == ["s3:GetObject"] and step.is_glue
                    continue
                assert "WorkflowBucket" in text
                if statement["Action"] == ["s3:ListBucket"]:
                    assert "s3:prefix" in json.dumps(statement["Condition"])
                else:
                    prefix = resource["Fn::Sub"][0].split("/", 1)[1]
                    allowed = {"executions/*", "sources/*", f"glue-temp/{step.name}/*"}
                    assert prefix in allowed
                    if prefix == "sources/*":
                        assert statement["Action"] == ["s3:GetObject"] and step.name == "ETL"


# ---- machine types --------------------------------------------------------------------------
@given(workflow=workflows("express"), settings=stack_settings)
def test_property_12__express_workflow_configuration(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 12: Express Workflow Configuration.

    EXPRESS type, the configured timeout (at most 300 s), no ``.sync`` task, logging and tracing.
    """
    stack = _built(workflow, settings)
    machine = _machine(stack)
    assert machine["StateMachineType"] == "EXPRESS"
    assert machine["Definition"]["TimeoutSeconds"] == workflow.timeout_seconds <= EXPRESS_MAX_TIMEOUT_SECONDS
    assert all(".sync" not in t["Resource"] for _, t in _task_chain(machine["Definition"]))
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert _findings(stack, settings, "ASL", "OPS") == []


@given(workflow=workflows("standard"), settings=stack_settings)
def test_property_18__standard_workflow_configuration(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 18: Standard Workflow Configuration.

    STANDARD type with the configured timeout, logging ALL with execution data, tracing.
    """
    stack = _built(workflow, settings)
    machine = _machine(stack)
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["Definition"]["TimeoutSeconds"] == workflow.timeout_seconds
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert _findings(stack, settings, "ASL", "OPS") == []


def _pipe(stack: Stack) -> tuple[str, list[str]]:
    invocation = _props(stack, "WorkflowPipe")["TargetParameters"]["StepFunctionStateMachineParameters"][
        "InvocationType"
    ]
    start = [s for s in _statements(stack, "WorkflowPipeRole") if s["Sid"] == "StartWorkflow"]
    return invocation, [a for s in start for a in s["Action"]]


@given(workflow=workflows("express"))
def test_property_13__express_invocation_type(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 13: Express Workflow Invocation Type.

    The pipe waits for the execution (REQUEST_RESPONSE) and may ``states:StartSyncExecution``.
    """
    stack = _built(workflow)
    assert _pipe(stack) == ("REQUEST_RESPONSE", ["states:StartSyncExecution"])
    assert _findings(stack, None, "PIPE") == []


@given(workflow=workflows("standard"))
def test_property_19__standard_invocation_type(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 19: Standard Workflow Invocation Type.

    The pipe starts the execution and moves on (FIRE_AND_FORGET) with ``states:StartExecution``.
    """
    stack = _built(workflow)
    assert _pipe(stack) == ("FIRE_AND_FORGET", ["states:StartExecution"])
    assert _findings(stack, None, "PIPE") == []


@given(workflow=workflows())
def test_property_27__automatic_invocation_type(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 27: Automatic Invocation Type Configuration.

    The configured type alone decides the machine type, the invocation type and the pipe's action.
    """
    stack = _built(workflow)
    machine_type = _machine(stack)["StateMachineType"]
    assert machine_type == workflow.type.upper()
    assert _pipe(stack)[0] == workflow.invocation_type
    assert _pipe(stack)[1] == (["states:StartSyncExecution"] if workflow.is_express else ["states:StartExecution"])


# ---- tasks ----------------------------------------------------------------------------------
@given(workflow=workflows())
def test_property_16__lambda_retry_configuration(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 16: Lambda Retry Configuration.

    Lambda tasks retry transient errors twice after 20 s (express: 1 s) with backoff 2.0;
    permanent ones never.
    """
    expected = EXPRESS_LAMBDA_RETRY if workflow.is_express else LAMBDA_RETRY
    stack = _built(workflow)
    lambdas = [t for _, t in _task_chain(_machine(stack)["Definition"]) if t["Resource"] == LAMBDA_INVOKE]
    assert len(lambdas) == sum(1 for _, kind, _ in _expected_work(workflow) if kind == LAMBDA_INVOKE)
    for task in lambdas:
        (retry,) = task["Retry"]
        interval = 1 if workflow.is_express else 20
        assert (retry["MaxAttempts"], retry["IntervalSeconds"], retry["BackoffRate"]) == (2, interval, 2.0)
        assert retry == expected and PERMANENT_ERROR not in retry["ErrorEquals"]
    assert _findings(stack, None, "ASL006") == []


@given(workflow=workflows("standard"))
def test_property_24__glue_retry_configuration(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 24: Glue Job Retry Configuration.

    Glue tasks retry twice after 300 s with backoff 2.0; the job itself does not retry.
    """
    stack = _built(workflow)
    glue = [t for _, t in _task_chain(_machine(stack)["Definition"]) if t["Resource"] == GLUE_START_JOB_RUN_SYNC]
    assert len(glue) == sum(1 for s in workflow.steps if s.is_glue)
    for task in glue:
        (retry,) = task["Retry"]
        assert (retry["MaxAttempts"], retry["IntervalSeconds"], retry["BackoffRate"]) == (2, 300, 2.0)
        assert retry == GLUE_RETRY
    assert all(job["Properties"]["MaxRetries"] == 0 for _, job in stack.of_type("AWS::Glue::Job"))


@given(workflow=workflows())
def test_property_17__result_path_discard(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 17: Result Path Discard.

    Every task discards its result (``ResultPath: null``): data moves through S3 only.
    """
    stack = _built(workflow)
    tasks = _task_chain(_machine(stack)["Definition"])
    assert tasks and all("ResultPath" in t and t["ResultPath"] is None for _, t in tasks)
    assert _findings(stack, None, "ASL008") == []


@given(workflow=workflows("standard"))
def test_property_20__mixed_step_type_support(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 20: Mixed Step Type Support.

    Lambda and Glue steps run in the configured order, each through its own integration; a
    part-wise stage after the first is its Distributed Map, then its manifest Task (issue 16).
    """
    stack = _built(workflow)
    chain = _work_chain(_machine(stack)["Definition"])
    assert [(n, kind) for n, kind, _ in chain] == [(n, kind) for n, kind, _ in _expected_work(workflow)]
    for name, kind, state in chain:
        if kind == MAP:
            assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED", name


@given(workflow=workflows("standard"))
def test_property_21__glue_job_integration_pattern(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 21: Glue Job Integration Pattern.

    A Glue step runs its own job synchronously (``startJobRun.sync``): G.1X, 2 workers, 120 min.
    """
    stack = _built(workflow)
    machine = _machine(stack)
    for name, task in _task_chain(machine["Definition"]):
        if task["Resource"] != GLUE_START_JOB_RUN_SYNC:
            continue
        placeholder = task["Parameters"]["JobName"][2:-1]
        assert machine["DefinitionSubstitutions"][placeholder] == {"Ref": f"{name}GlueJob"}
        job = _props(stack, f"{name}GlueJob")
        assert job["Name"] == glue_job_name(workflow.name, name)
        assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == (
            GLUE_WORKER_TYPE,
            GLUE_WORKERS,
            GLUE_TIMEOUT_MINUTES,
        )


@given(workflow=workflows("standard"), request=requests, execution=st.from_regex(r"^[a-z0-9-]{1,40}$", fullmatch=True))
def test_property_22__glue_job_arguments(workflow: Workflow, request: dict[str, Any], execution: str) -> None:
    """Feature: infrastructure-enhancement, Property 22: Glue Job Arguments (and 23: I/O convention).

    At run time a Glue step receives the execution id, the workflow bucket, the previous stage's
    output key as input and its own output key, all built from ``$$.Execution.Name``, and the part
    size of its output (issue 16); the Maps around it (traced too) do not change them.
    """
    stack = _built(workflow)
    runtime = LayoutRuntime(single_stack_environment(stack), "workflows")
    trace = runtime.start_execution("WorkflowStateMachine", request, execution)
    # The bucket as the trace identifies it: type and (placement-free) physical name.
    bucket = {"type": "AWS::S3::Bucket", "name": ("Sub", workflow_bucket_name(workflow.name), {}, ())}
    names = [s.name for s in workflow.steps]
    for invocation in trace:
        if invocation.integration != GLUE_START_JOB_RUN_SYNC:
            continue
        step = invocation.state
        previous = names[names.index(step) - 1]
        assert invocation.payload == {
            "--execution-id": execution,
            "--input-bucket": invocation.payload["--input-bucket"],
            "--input-key": f"{EXECUTIONS_PREFIX}{execution}/{previous}/output.json",
            "--output-bucket": invocation.payload["--output-bucket"],
            "--output-key": f"{EXECUTIONS_PREFIX}{execution}/{step}/output.json",
            "--current-stage": step,
            "--previous-stage": previous,
            # Candidates per part of its output (docs/design.md "Sizing": ``partSize``, default
            # 10,000, sets Glue ``--part-size``; the generated workflows keep the default sizing).
            "--part-size": "10000",
        }
        assert invocation.payload["--input-bucket"] == invocation.payload["--output-bucket"] == bucket
    assert sum(1 for i in trace if i.integration == GLUE_START_JOB_RUN_SYNC) == sum(
        1 for s in workflow.steps if s.is_glue
    )


READ = "arn:aws:states:::s3:getObject"
#: What a traced Map child gets as its item (equivalence.SYMBOLIC_MAP_ITEM: no S3 is read).
TRACED_ITEM = {"key": "<item key>", "count": 1, "index": 0}


def _expected_invocations(workflow: Workflow, execution: str) -> list[tuple[str, str, str, str | None]]:
    """``(state, integration, step, list read)`` of a run's invocations, from the workflow's steps.

    Express: one task per step. Standard (issue 16, docs/design.md "Sizing"): a first step that
    reads sources runs as plan, its Map (the read of ``{Step}/sources.json``, then one child) and
    its manifest; a part-wise stage after the first as its Map (the read of ``{previous}/parts.json``,
    then one child) and its manifest; a Glue step as its job run; any other step as one task.
    """
    found: list[tuple[str, str, str, str | None]] = []
    names = [s.name for s in workflow.steps]
    for index, step in enumerate(workflow.steps):
        name, sharded = step.name, not workflow.is_express
        if step.is_glue:
            found.append((name, GLUE_START_JOB_RUN_SYNC, name, None))
        elif sharded and index == 0 and name in SOURCE_STAGES:
            found += [
                (f"{name}Plan", LAMBDA_INVOKE, name, None),
                (name, READ, name, f"{EXECUTIONS_PREFIX}{execution}/{name}/sources.json"),
                (f"{name}Part", LAMBDA_INVOKE, name, None),
                (f"{name}Manifest", LAMBDA_INVOKE, name, None),
            ]
        elif sharded and index > 0 and name in PART_WISE_STAGES:
            found += [
                (name, READ, name, f"{EXECUTIONS_PREFIX}{execution}/{names[index - 1]}/parts.json"),
                (f"{name}Part", LAMBDA_INVOKE, name, None),
                (f"{name}Manifest", LAMBDA_INVOKE, name, None),
            ]
        else:
            found.append((name, LAMBDA_INVOKE, name, None))
    return found


@given(workflow=workflows(), request=requests, via_pipe=st.booleans())
def test_property_8__execution_context_payload(workflow: Workflow, request: dict[str, Any], via_pipe: bool) -> None:
    """Feature: infrastructure-enhancement, Property 8: Execution Context Payload Structure.

    Each Lambda stage gets executionId (context object), currentStage, previousStage and the
    bucket; the first also gets the request, whether it came through the pipe or directly. A
    stage that runs under a Distributed Map gives each child the same context plus its item
    (``part``, or ``source`` for the first stage's shards), and its manifest step collects them.
    """
    stack = _built(workflow)
    runtime = LayoutRuntime(single_stack_environment(stack), "workflows")
    message = [{"body": json.dumps(request), "messageId": "m-1"}] if via_pipe else request
    trace = runtime.start_execution("WorkflowStateMachine", message, "exec-42")
    expected = _expected_invocations(workflow, "exec-42")
    assert [(i.state, i.integration) for i in trace] == [(state, kind) for state, kind, _, _ in expected]
    names = [s.name for s in workflow.steps]
    for invocation, (state, kind, step, key) in zip(trace, expected, strict=True):
        payload = invocation.payload
        if kind == READ:
            assert payload == {"Key": key, "ReaderConfig": payload["ReaderConfig"]}
            assert payload["ReaderConfig"]["InputType"] == "JSON"
            assert invocation.target["type"] == "AWS::S3::Bucket"
            continue
        if kind != LAMBDA_INVOKE:
            continue
        index = names.index(step)
        assert payload["executionId"] == "exec-42" and payload["currentStage"] == step
        assert payload["previousStage"] == (names[index - 1] if index else None)
        assert payload["workflowBucket"]["type"] == "AWS::S3::Bucket"
        assert ("initialData" in payload) == (index == 0)
        if index == 0:
            assert payload["initialData"] == request
        # The sharded hand-off's fields (lambdas/README.md "Sharded hand-off").
        sharding = {
            k: payload[k] for k in ("part", "source", "collectParts", "collectSources", "output") if k in payload
        }
        if state == f"{step}Part":
            assert sharding == {"source" if index == 0 else "part": TRACED_ITEM}
        elif state == f"{step}Manifest":
            assert sharding == {"collectSources" if index == 0 else "collectParts": True}
        elif state == f"{step}Plan":
            assert sharding == {"output": "plan"}
        else:
            assert sharding == ({"output": "parts"} if index == 0 and not workflow.is_express else {})


@given(workflow=workflows("standard"), data=st.data())
def test_property_28__glue_job_positioning_flexibility(workflow: Workflow, data: st.DataObject) -> None:
    """Feature: infrastructure-enhancement, Property 28: Glue Job Positioning Flexibility.

    A Glue step may sit at any position after the first; the machine follows and validates.
    """
    from dataclasses import replace

    from ceap_templates.configuration import Step

    steps = [s for s in workflow.steps if not s.is_glue]
    position = data.draw(st.integers(1, len(steps)))
    steps.insert(position, Step("HeavyGlue", "glue"))
    moved = replace(workflow, steps=tuple(steps))
    stack = _built(moved)
    assert [n for n, _, _ in _work_chain(_machine(stack)["Definition"])] == [n for n, _, _ in _expected_work(moved)]
    assert _findings(stack, None, "ASL", "IAM", "PIPE") == []


# ---- failures -------------------------------------------------------------------------------
@given(workflow=workflows())
def test_property_30__step_failure_state_transition(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 30: Step Failure State Transition.

    Every step catches any error into its own Fail state ``{Step}Failed`` (error ``{Step}Error``,
    cause with the error's type and message), so a failed step fails the execution visibly. A
    mapped step's Map and manifest Task both catch into the step's ``{Step}Failed`` (issue 16), and
    the Map's child catches into a Fail state of its own.
    """
    stack = _built(workflow)
    states = _machine(stack)["Definition"]["States"]
    chain = _work_chain(_machine(stack)["Definition"])
    assert [n for n, _, _ in chain] == [n for n, _, _ in _expected_work(workflow)]
    for (name, kind, state), (_, _, step) in zip(chain, _expected_work(workflow), strict=True):
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["Next"] == f"{step}Failed", name
        failed = states[f"{step}Failed"]
        assert failed["Type"] == "Fail" and failed["Error"] == f"{step}Error"
        assert "$.error.Error" in failed["CausePath"] and "$.error.Cause" in failed["CausePath"]
        if kind == MAP:
            processor = state["ItemProcessor"]
            (child_catch,) = processor["States"][processor["StartAt"]]["Catch"]
            assert child_catch["ErrorEquals"] == ["States.ALL"]
            assert processor["States"][child_catch["Next"]]["Type"] == "Fail"
    assert _findings(stack, None, "ASL007") == []


@given(workflow=workflows("standard"))
def test_property_29__glue_job_failure_handling(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 29: Glue Job Failure Handling.

    A failed Glue run (after Step Functions' retries; the job has none of its own) ends in the
    step's Fail state and the standard workflow's failure rule alerts.
    """
    stack = _built(workflow)
    states = _machine(stack)["Definition"]["States"]
    for name, task in _task_chain(_machine(stack)["Definition"]):
        if task["Resource"] == GLUE_START_JOB_RUN_SYNC:
            assert states[task["Catch"][0]["Next"]]["Type"] == "Fail"
            assert _props(stack, f"{name}GlueJob")["MaxRetries"] == 0
    assert _findings(stack, None, "OPS005", "ASL007") == []


@given(workflow=workflows(), settings=stack_settings)
def test_property_32__sqs_dead_letter_queue(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 32: SQS Dead Letter Queue Configuration.

    The request queue moves a message to the encrypted DLQ after 3 receives; the DLQ keeps it
    14 days and an alarm fires on its first message.
    """
    stack = _built(workflow, settings)
    queue = _props(stack, "WorkflowQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkflowDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    dlq = _props(stack, "WorkflowDeadLetterQueue")
    assert dlq["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS and dlq["SqsManagedSseEnabled"] is True
    assert _findings(stack, settings, "OPS004", "OPS006", "SEC001") == []


@given(workflow=workflows("express"))
def test_property_33__express_workflow_sqs_retry(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 33: Express Workflow SQS Retry.

    A failed synchronous execution leaves the message on the queue: it becomes visible again only
    after the execution's timeout, is retried, and after 3 receives lands in the DLQ.
    """
    stack = _built(workflow)
    queue = _props(stack, "WorkflowQueue")
    assert queue["VisibilityTimeout"] > _machine(stack)["Definition"]["TimeoutSeconds"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    assert _pipe(stack)[0] == "REQUEST_RESPONSE"
    assert _findings(stack, None, "PIPE", "OPS004") == []


@given(workflow=workflows())
def test_property_34__standard_workflow_failure_detection(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 34: Standard Workflow Failure Detection.

    Standard executions that fail, time out or abort raise an alert through a rule (with a DLQ);
    express ones are followed through the queue's DLQ alarm.
    """
    stack = _built(workflow)
    rules = dict(stack.of_type("AWS::Events::Rule"))
    if workflow.is_express:
        assert rules == {}
    else:
        pattern = rules["WorkflowFailureRule"]["Properties"]["EventPattern"]
        assert set(pattern["detail"]["status"]) == {"FAILED", "TIMED_OUT", "ABORTED"}
        assert pattern["detail"]["stateMachineArn"] == [{"Ref": "WorkflowStateMachine"}]
        (target,) = rules["WorkflowFailureRule"]["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": "WorkflowAlertsTopic"} and "DeadLetterConfig" in target
    assert "WorkflowDeadLetterQueueAlarm" in stack.resources
    assert _findings(stack, None, "OPS") == []


# ---- observability, pipes, IAM ---------------------------------------------------------------
@given(workflow=workflows(), settings=stack_settings)
def test_property_35__observability_configuration(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 35: Observability Configuration.

    X-Ray on the machine and every function; machine logs ALL with execution data; every log group
    keeps the environment's retention.
    """
    stack = _built(workflow, settings)
    logging = _machine(stack)["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", True)
    assert all(
        f["Properties"]["TracingConfig"] == {"Mode": "Active"} for _, f in stack.of_type("AWS::Lambda::Function")
    )
    groups = [g["Properties"]["RetentionInDays"] for _, g in stack.of_type("AWS::Logs::LogGroup")]
    assert groups and set(groups) == {settings["log_days"]}
    assert _findings(stack, settings, "OPS001", "OPS002", "OPS003") == []


@given(workflow=workflows())
def test_property_41__eventbridge_pipe_configuration(workflow: Workflow) -> None:
    """Feature: infrastructure-enhancement, Property 41: EventBridge Pipe Configuration.

    The pipe reads the workflow queue one message at a time and starts the workflow's machine.
    """
    stack = _built(workflow)
    pipe = _props(stack, "WorkflowPipe")
    assert pipe["Source"] == {"Fn::GetAtt": ["WorkflowQueue", "Arn"]}
    assert pipe["Target"] == {"Ref": "WorkflowStateMachine"}
    assert pipe["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 1
    assert pipe["Name"] == workflow_queue_name(workflow.name, "pipe")
    assert _findings(stack, None, "PIPE001") == []


@given(workflow=workflows(), settings=stack_settings)
def test_property_42__least_privilege_iam_roles(workflow: Workflow, settings: dict[str, Any]) -> None:
    """Feature: infrastructure-enhancement, Property 42: Least-Privilege IAM Roles.

    One role per function, job, machine and pipe, trusted by one service; no wildcard action;
    ``*`` resources only for actions AWS cannot scope; stage roles cannot start executions or
    jobs, and the machine role invokes only its own stages and jobs.
    """
    stack = _built(workflow, settings)
    unscoped = {a.lower() for a in UNSCOPED_ACTIONS}
    for logical_id, _ in stack.of_type("AWS::IAM::Role"):
        for statement in _statements(stack, logical_id):
            actions = [a.lower() for a in statement["Action"]]
            assert not any("*" in a for a in actions)
            if "*" in statement["Resource"]:
                # PutMetricData has no resource type: '*' narrowed to namespace "Glue" (AWS CloudWatch
                # docs, "Using condition keys to limit access to CloudWatch namespaces").
                metrics = actions == ["cloudwatch:putmetricdata"] and statement.get("Condition") == {
                    "StringEquals": {"cloudwatch:namespace": "Glue"}
                }
                assert metrics or set(actions) <= unscoped
            if logical_id.endswith("FunctionRole"):
                assert not any(a.startswith(("states:", "glue:", "iam:")) for a in actions)
    invoke = [s for s in _statements(stack, "WorkflowRole") if s["Sid"] == "InvokeStages"]
    targets = {json.dumps(r) for s in invoke for r in s["Resource"]}
    functions = {i for i, _ in stack.of_type("AWS::Lambda::Function")}
    assert all(any(f in t for f in functions) for t in targets)
    assert _findings(stack, settings, "IAM") == []


# ---- configuration --------------------------------------------------------------------------
@given(
    doc=workflow_docs("express"),
    position=st.integers(0, 6),
    name=st.from_regex(r"^Heavy[A-Z][a-z]{0,5}$", fullmatch=True),
)
def test_property_25__workflow_type_selection_validation(doc: dict[str, Any], position: int, name: str) -> None:
    """Feature: infrastructure-enhancement, Property 25: Workflow Type Selection Validation.

    An express workflow with a Glue step is refused before any template exists, naming the step
    and what is allowed; the same steps as a standard workflow (Glue not first) are accepted.
    """
    steps = list(doc["steps"])
    index = max(1, min(position, len(steps)))
    steps.insert(index, {"glue": name})
    express = {**doc, "steps": steps}
    with pytest.raises(ConfigErrors) as caught:
        configuration.parse({"environments": {"dev": _BASE | {"workflows": [express]}}})
    message = str(caught.value)
    assert f"environments.dev.workflows[0].steps[{index}]" in message
    assert "express machines cannot run `.sync` jobs" in message
    # A standard machine may run a year; one day covers any generated worst case (ASL010).
    standard = {**express, "type": "standard", "timeoutSeconds": 86_400}
    parsed = configuration.parse({"environments": {"dev": _BASE | {"workflows": [standard]}}})
    assert parsed.environments["dev"].workflows[0].steps[index].is_glue
