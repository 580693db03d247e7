"""End to end on the emitted artifacts: each state machine of build/dev runs on moto, its Lambda tasks
served by the real handlers the templates name, in the order and with the payloads the machine builds.

What this proves: the templates' Lambda ``Handler`` strings import, each function works with
exactly the environment variables its template gives it, the payloads the state machines build
(the tasks' ``Payload``, a Distributed Map's ``ItemSelector`` for its children, the manifest steps'
``collectParts``) are the ones the handlers accept, and the stages chain through S3 to candidates
in the Candidates table (and a ``WorkflowCompleted`` event for the workflows): one object per stage
for the express workflow, parts and manifests for the standard ones (issue 16, lambdas/README.md
"Sharded hand-off of standard workflows").

The handlers must run while the machine runs: a Distributed Map reads its items from the
``parts.json`` the previous stage wrote (``ItemReader``). They are served by the loopback Lambda
runtime (``support.local_lambda``), one invocation at a time, each with its function's environment.
The batch workflow's HeavyETL Glue step is a stand-in here (``support.glue_runner`` runs
:func:`hand_on`), which hands Filter's parts on unchanged; tests/lambdas/test_batch_end_to_end.py
runs the real job on Spark.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from support.asl_runner import definition_of, run_state_machine, sample_value
from support.glue_runner import local_glue_jobs
from support.local_lambda import MOTO_CONFIG, local_lambda

from . import testkit
from .conftest import FakeLambdaContext, LocalAws, capture_events, received_events

BUILD = testkit.BUILD / "dev"

REQUEST = testkit.request(
    records=[
        testkit.raw_row("C1", "B001", total=80.0, channels={"email": True, "push": True}),
        testkit.raw_row("C2", "B002", total=3.0),  # below minOrderValue 10: rejected by Filter
        testkit.raw_row("C3", "B003", total=25.0, channels=["sms"]),  # not e-mail eligible: rejected
        {"customer_id": "C4"},  # no subject, no event date: skipped by ETL
    ]
)

CASES = {
    "realtime-via-pipe": (
        "CeapWorkflow-realtime.template.json",
        "WorkflowStateMachine",
        [{"body": json.dumps(REQUEST)}],
    ),
    "batch-direct": ("CeapWorkflow-batch.template.json", "WorkflowStateMachine", REQUEST),
    "data-platform-ingestion": ("CeapDataPlatform-dev.template.json", "BatchIngestionWorkflow10186577", REQUEST),
}

#: What each stage leaves under executions/{id}/{stage}/ (lambdas/README.md): an express stage its
#: output.json; in a standard workflow the first stage its parts, the manifest and parts.json; a
#: Map stage also one result per part (this request is small: one part, part-00000).
EXPRESS_OBJECTS = {"output.json"}
#: The first stage runs over its source shards (one here): sources.json, the shard's part and result.
FIRST_STAGE_OBJECTS = {
    "output.json",
    "parts.json",
    "sources.json",
    "parts/shard-00000-00000.jsonl",
    "results/part-00000.json",
}
MAPPED_STAGE_OBJECTS = {"output.json", "parts.json", "parts/part-00000.jsonl", "results/part-00000.json"}
#: Filter's part child writes the rows it rejected beside its part (this request has some).
REJECTED_OBJECTS = {"rejectedCandidates/part-00000.jsonl"}
#: The stand-in HeavyETL writes its manifest and item list, and no parts of its own.
HAND_ON_OBJECTS = {"output.json", "parts.json"}


def served_functions(template: dict[str, Any], logical_id: str, bucket: str) -> dict[str, Callable[..., Any]]:
    """The loopback runtime's functions: each ``...FunctionArn`` substitution → the handler its template names.

    The runner substitutes ``sample_value(key)``, an ARN whose last segment is the key, which is the
    name the runtime dispatches on. One invocation at a time, in its function's environment only.
    """
    _, substitutions = definition_of(template, logical_id)
    lock = threading.Lock()
    resources = template["Resources"]
    functions = {}
    variables = set(testkit.HANDLER_ENV)
    for key, reference in substitutions.items():
        if "Fn::GetAtt" not in reference:
            continue
        resource = resources[reference["Fn::GetAtt"][0]]
        assert resource["Type"] == "AWS::Lambda::Function", key
        variables |= set(resource["Properties"]["Environment"]["Variables"])
        module_name, _, name = resource["Properties"]["Handler"].rpartition(".")
        functions[key] = (
            getattr(importlib.import_module(module_name), name),
            testkit.function_environment(resource, bucket),
        )

    @contextmanager
    def environment(values: Mapping[str, str]) -> Iterator[None]:
        saved = {name: os.environ.pop(name, None) for name in variables}
        os.environ.update(values)
        try:
            yield
        finally:
            for name in variables:
                os.environ.pop(name, None)
            os.environ.update({k: v for k, v in saved.items() if v is not None})

    def serve(handler: Callable[..., Any], values: Mapping[str, str], key: str) -> Callable[..., Any]:
        def invoke(event: dict[str, Any], _context: Any) -> Any:
            with lock, environment(values):
                return handler(event, FakeLambdaContext(function_name=key))

        return invoke

    return {key: serve(handler, values, key) for key, (handler, values) in functions.items()}


def glue_jobs(template: dict[str, Any], logical_id: str) -> list[str]:
    """Job names the runner gives the machine's Glue tasks (``sample_value`` of the job ``Ref``)."""
    _, substitutions = definition_of(template, logical_id)
    resources = template["Resources"]
    return [
        sample_value(key)
        for key, reference in substitutions.items()
        if "Ref" in reference and resources.get(reference["Ref"], {}).get("Type") == "AWS::Glue::Job"
    ]


def hand_on(argv: Sequence[str]) -> None:
    """HeavyETL stand-in: the previous stage's manifest (stage renamed) and ``parts.json``, unchanged."""
    args = dict(zip(argv[::2], argv[1::2], strict=True))
    s3 = boto3.client("s3")
    source, target = args["--input-key"].rsplit("/", 1)[0], args["--output-key"].rsplit("/", 1)[0]
    manifest = json.loads(s3.get_object(Bucket=args["--input-bucket"], Key=args["--input-key"])["Body"].read())
    items = s3.get_object(Bucket=args["--input-bucket"], Key=f"{source}/parts.json")["Body"].read()
    s3.put_object(Bucket=args["--output-bucket"], Key=f"{target}/parts.json", Body=items)
    body = json.dumps({**manifest, "stage": args["--current-stage"]}).encode()
    s3.put_object(Bucket=args["--output-bucket"], Key=args["--output-key"], Body=body)


@pytest.mark.emulator
@pytest.mark.parametrize("case", sorted(CASES))
def test_end_to_end__artifact_state_machine__handlers_store_candidates_and_report(
    case: str, local_aws: LocalAws
) -> None:
    file_name, logical_id, execution_input = CASES[case]
    template = json.loads((BUILD / file_name).read_text())
    express = template["Resources"][logical_id]["Properties"].get("StateMachineType") == "EXPRESS"
    execution = f"e2e-{case}"
    bucket = sample_value("WorkflowBucket")
    local_aws.s3.create_bucket(Bucket=bucket)
    queue = capture_events(local_aws)

    functions = served_functions(template, logical_id, bucket)
    with (
        local_glue_jobs(dict.fromkeys(glue_jobs(template, logical_id), hand_on), spark=False) as glue,
        local_lambda(functions) as runtime,
    ):
        run = run_state_machine(template, logical_id, execution_input, execution_name=execution, config=MOTO_CONFIG)
    assert (run.status, run.error) == ("SUCCEEDED", None), run.cause
    assert all(i.error is None for i in runtime.invocations), [(i.function, i.error) for i in runtime.invocations]
    assert all(r.state == "SUCCEEDED" for r in glue.runs), [r.error_message for r in glue.runs]

    # The stages in execution order, as the handlers (and the Glue step) were given them.
    stages: list[str] = []
    for task in run.tasks:
        stage = (task.parameters.get("Payload") or {}).get("currentStage") or task.parameters["Arguments"][
            "--current-stage"
        ]
        if not stages or stages[-1] != stage:
            stages.append(stage)
    glue_stages = [r.arguments["--current-stage"] for r in glue.runs]
    mapped = {i.event["currentStage"] for i in runtime.invocations if "part" in i.event}
    assert runtime.invocations[0].event["initialData"] == REQUEST

    expected_keys = set()
    for index, stage in enumerate(stages):
        if express:
            names = EXPRESS_OBJECTS
        elif stage in glue_stages:
            names = HAND_ON_OBJECTS
        elif index == 0:
            names = FIRST_STAGE_OBJECTS
        elif stage in mapped:
            names = MAPPED_STAGE_OBJECTS | (REJECTED_OBJECTS if stage == "Filter" else set())
        else:
            names = EXPRESS_OBJECTS  # the Reactive summary: one object
        expected_keys |= {f"executions/{execution}/{stage}/{name}" for name in names}
    assert set(local_aws.object_keys(f"executions/{execution}/", bucket=bucket)) == expected_keys
    if not express:
        # issue 16: Filter, Score and Store run as Distributed Map children, one per part.
        assert mapped == {"Filter", "Score", "Store"}

    items = local_aws.candidate_items()
    assert {(i["PK"]["S"], i["SK"]["S"]) for i in items} == {
        ("CUSTOMER#C1#PROGRAM#retail#MARKETPLACE#US", "SUBJECT#product#B001")
    }
    (item,) = items
    assert item["GSI1PK"]["S"] == "PROGRAM#retail#CHANNEL#email"
    assert json.loads(item["data"]["S"])["metadata"]["workflowExecutionId"] == execution

    events = received_events(local_aws, queue)
    if "Reactive" in stages:
        (event,) = events
        assert event["detail-type"] == "WorkflowCompleted"
        assert event["detail"] == {
            "programId": "retail",
            "marketplace": "US",
            "executionId": execution,
            "totalProcessed": 4,
            "totalStored": 1,
            "totalRejected": 2,
            "totalErrors": 1,
            "success": True,
        }
    else:
        assert stages == ["ETL", "Filter", "Score", "Store"]
        assert events == []
