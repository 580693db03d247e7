"""Issue 16: the batch workflow executes locally end to end, in parts, with the real handlers and the real Glue job.

"The batch workflow executes locally end to end (local AWS or the project's runner) with at least
3 parts per mapped stage, the real handlers, the real Glue transformation on local Spark, and the
same candidates in the table as the single-part path for the same input (property test over
generated inputs)." (issue 16)

How it runs: the built ``build/dev/CeapWorkflow-batch.template.json`` machine executes on moto's
Step Functions engine (``support.asl_runner``) with its ``DefinitionSubstitutions`` resolved to the
resources of the test (each ``Fn::GetAtt [Function, Arn]`` a function ARN named after the resource,
the job ``Ref`` the job's ``Name``, the bucket ``Ref`` a moto bucket). Every Lambda task, Map child
and manifest step calls the handler the template names (``Handler``) with exactly the environment
variables the template gives that function (imported table names become the moto tables) through
the loopback Lambda runtime (``support.local_lambda``); the HeavyETL ``glue:startJobRun.sync`` task
really runs ``ceap_glue.job.main`` on local Spark against moto's S3 (``support.glue_runner``).

Two edits of the template, the part size and the source shard size: its functions' ``PART_SIZE``
and HeavyETL's ``--part-size`` are 10000 (the production size), so three parts would need more than
20,000 candidates and minutes of Spark, and ETL's ``SOURCE_SHARD_BYTES`` is 64 MiB. The test sets
the part size to 2 and the shard size to 128 bytes in its copy, so that about ten rows (a few inline
records, the others three JSON Lines objects of the program's ``s3_jsonl`` connector) make at least
three source shards and three parts per mapped stage. The single-part path is the template as
committed (one shard and one part for every generated input).

Invocations are serialised: each Lambda invocation gets its function's environment and the
handlers' module-level state (clients, Powertools) the way one Lambda instance has them. (Powertools
reads POWERTOOLS_SERVICE_NAME when the handlers are imported, so the log records carry the test's
service name; the variables the handlers read per invocation are the template's.)
"""

from __future__ import annotations

import copy
import importlib
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ceap_glue import job as glue_job
from ceap_handlers import aws as ceap_aws
from ceap_handlers.contract import format_instant
from ceap_handlers.handlers import etl, filter, score
from support.asl_runner import ACCOUNT, ROLE_ARN, AslRun, definition_of, run_state_machine, sample_value
from support.glue_runner import JobRun, local_glue_jobs, spark_session
from support.local_lambda import MOTO_CONFIG, LocalLambda, local_lambda

from . import testkit
from .conftest import FakeLambdaContext, capture_events, create_tables, put_program, received_events

# tests/conftest.py puts tests/glue on the "spark" worker (one SparkSession per worker costs ~10 s and
# 1 GB); these tests run the same Spark job, so they join that group. They run on in-process moto,
# which the "emulator" marker also means (tox.ini), but conftest.py groups every emulator-marked test
# outside tests/glue as "local_aws" (and the local_aws fixture's users: hence fresh mock_aws contexts
# here, not that fixture), and tests/test_xdist_groups.py requires exactly that group of them. One
# test cannot carry both groups (xdist would make "local_aws_spark" of them), so these carry "spark".
pytestmark = pytest.mark.xdist_group("spark")

TEMPLATE = testkit.BUILD / "dev" / "CeapWorkflow-batch.template.json"
MACHINE = "WorkflowStateMachine"
REGION = "us-east-1"
#: Candidates per part in the sharded runs (see the module docstring).
SMALL_PART = 2
#: The Distributed Map states of the batch machine and the stage each one's children run (issue 16).
MAPPED_STAGES = {"Filter": "ETL", "Score": "HeavyETL", "Store": "Score"}
#: The program's JSON Lines connector (lambdas/README.md "Sharded hand-off", source shards): part of
#: each request's rows are objects under this prefix, the rest inline records (mapped by shard 0).
SOURCE_PREFIX = "sources/retail/"
#: Source bytes per ETL shard in the sharded runs: a raw row is 50-150 bytes, so the objects of a
#: few rows make at least 3 shards (SOURCE_SHARD_BYTES is 64 MiB in the committed template).
SMALL_SHARD_BYTES = 128


# --------------------------------------------------------------------------------------------
# The template, resolved for the test
# --------------------------------------------------------------------------------------------


def load_template() -> dict[str, Any]:
    template: dict[str, Any] = json.loads(TEMPLATE.read_text())
    return template


def with_part_size(template: dict[str, Any], size: int) -> dict[str, Any]:
    """A copy whose functions' ``PART_SIZE`` and HeavyETL's ``--part-size`` are ``size``."""
    edited = copy.deepcopy(template)
    functions = [
        r
        for r in edited["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and "Environment" in r["Properties"]
    ]
    sized = [f for f in functions if "PART_SIZE" in f["Properties"]["Environment"]["Variables"]]
    assert sized, "no function of the batch template sets PART_SIZE"
    for function in sized:
        function["Properties"]["Environment"]["Variables"]["PART_SIZE"] = str(size)
    arguments = edited["Resources"][MACHINE]["Properties"]["Definition"]["States"]["HeavyETL"]["Parameters"][
        "Arguments"
    ]
    assert "--part-size" in arguments, "the HeavyETL task passes no --part-size"
    arguments["--part-size"] = str(size)
    return edited


def with_shard_bytes(template: dict[str, Any], size: int) -> dict[str, Any]:
    """A copy whose ETL function reads source shards of at most ``size`` bytes (``SOURCE_SHARD_BYTES``)."""
    edited = copy.deepcopy(template)
    sized = [
        r["Properties"]["Environment"]["Variables"]
        for r in edited["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and "SOURCE_SHARD_BYTES" in r["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(sized) == 1, "exactly one function of the batch template (ETL) reads source shards"
    sized[0]["SOURCE_SHARD_BYTES"] = str(size)
    return edited


def sharded(template: dict[str, Any]) -> dict[str, Any]:
    """The sharded run's template: parts of SMALL_PART, source shards of SMALL_SHARD_BYTES."""
    return with_shard_bytes(with_part_size(template, SMALL_PART), SMALL_SHARD_BYTES)


def split_source(rows: list[dict[str, Any]], inline: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The request with the first ``inline`` rows as records; the others as 3 JSON Lines objects, in order."""
    rest = rows[inline:]
    cut = [len(rest) * k // 3 for k in range(4)]
    objects = {
        f"{SOURCE_PREFIX}{k:04d}.jsonl": b"".join(json.dumps(r).encode() + b"\n" for r in rest[cut[k] : cut[k + 1]])
        for k in range(3)
    }
    return testkit.request(records=rows[:inline]), objects


def substitution_values(template: Mapping[str, Any], bucket: str) -> dict[str, str]:
    """Each ``DefinitionSubstitutions`` value as CloudFormation resolves it, for the test's resources."""
    _, substitutions = definition_of(template, MACHINE)
    resources = template["Resources"]
    values = {}
    for key, reference in substitutions.items():
        if "Fn::GetAtt" in reference:
            target, attribute = reference["Fn::GetAtt"]
            assert (resources[target]["Type"], attribute) == ("AWS::Lambda::Function", "Arn"), reference
            values[key] = function_arn(target)
        elif resources[reference["Ref"]]["Type"] == "AWS::Glue::Job":
            values[key] = resources[reference["Ref"]]["Properties"]["Name"]
        else:
            assert resources[reference["Ref"]]["Type"] == "AWS::S3::Bucket", reference
            values[key] = bucket
    return values


def function_arn(logical_id: str) -> str:
    # The loopback runtime dispatches on the last segment of the ARN.
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"


def _sub(value: Any, bucket: str, resources: Mapping[str, Any]) -> Any:
    """A ``Fn::Sub [text, {name: {Ref: X}}]`` of the job's arguments, resolved for the test."""
    if isinstance(value, str):
        return value
    text, names = value["Fn::Sub"]
    for name, reference in names.items():
        target = reference["Ref"]
        is_bucket = resources.get(target, {}).get("Type") == "AWS::S3::Bucket"
        text = text.replace(f"${{{name}}}", bucket if is_bucket else sample_value(target))
    return text


@dataclass
class Lambdas:
    """The template's functions as the loopback runtime's callables, one invocation at a time."""

    template: Mapping[str, Any]
    bucket: str

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        resources = self.template["Resources"]
        self.functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
        self._variables = set(testkit.HANDLER_ENV)
        for resource in self.functions.values():
            self._variables |= set(resource["Properties"]["Environment"]["Variables"])

    def callables(self) -> dict[str, Any]:
        return {logical_id: self._callable(logical_id) for logical_id in self.functions}

    def _callable(self, logical_id: str) -> Any:
        resource = self.functions[logical_id]
        module_name, _, name = resource["Properties"]["Handler"].rpartition(".")
        handler = getattr(importlib.import_module(module_name), name)
        environment = testkit.function_environment(resource, self.bucket)
        context = FakeLambdaContext(
            function_name=logical_id,
            invoked_function_arn=function_arn(logical_id),
            memory_limit_in_mb=resource["Properties"]["MemorySize"],
        )

        def invoke(event: dict[str, Any], _context: Any) -> Any:
            with self._lock, self._environment(environment):
                return handler(event, context)

        return invoke

    @contextmanager
    def _environment(self, environment: Mapping[str, str]) -> Iterator[None]:
        saved = {name: os.environ.get(name) for name in self._variables}
        for name in self._variables:
            os.environ.pop(name, None)
        os.environ.update(environment)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# --------------------------------------------------------------------------------------------
# One execution of the batch machine on fresh moto resources
# --------------------------------------------------------------------------------------------


@dataclass
class BatchRun:
    run: AslRun
    lambdas: LocalLambda
    glue_runs: list[JobRun]
    items: list[dict[str, Any]]
    events: list[dict[str, Any]]
    objects: dict[str, bytes]
    seconds: float

    def json(self, key: str) -> Any:
        return json.loads(self.objects[key])

    def children(self, function: str) -> list[dict[str, Any]]:
        """Events of the Map children one function ran (the payloads with a ``part``)."""
        return [i.event for i in self.lambdas.invocations if i.function == function and "part" in i.event]


def execute(
    template: Mapping[str, Any],
    request: Mapping[str, Any],
    execution: str,
    *,
    reference_time: datetime | None = None,
    sources: Mapping[str, bytes] | None = None,
) -> BatchRun:
    """Run the batch machine on ``request`` with fresh moto resources; collect what it left.

    ``sources``: objects of the program's JSON Lines connector (key under SOURCE_PREFIX -> body).

    ``reference_time`` is the Glue job's ``--reference-time`` (one of its documented optional
    arguments, given as a job ``DefaultArguments`` entry); without it the job uses its start time.
    """
    started = time.monotonic()
    bucket = testkit.BUCKET
    resources = template["Resources"]
    ceap_aws.reset_clients()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        s3 = boto3.client("s3", region_name=REGION)
        ddb = boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket=bucket)
        create_tables(ddb)
        connectors = [
            testkit.program_config()["dataConnectors"][0],
            {
                "connectorId": "lake",
                "connectorType": "s3_jsonl",
                "sourceConfig": {"prefix": SOURCE_PREFIX, "fieldMappings": testkit.INLINE_MAPPINGS},
            },
        ]
        put_program(
            boto3.resource("dynamodb", region_name=REGION).Table(testkit.PROGRAM_CONFIG_TABLE),
            testkit.program_config(dataConnectors=connectors),
        )
        for key, body in (sources or {}).items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
        local = _Clients(s3, boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION))
        queue = capture_events(local)  # type: ignore[arg-type]

        (job,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Glue::Job"]
        default_arguments = {name: _sub(value, bucket, resources) for name, value in job["DefaultArguments"].items()}
        if reference_time is not None:
            default_arguments["--reference-time"] = format_instant(reference_time)
        boto3.client("glue", region_name=REGION).create_job(
            Name=job["Name"],
            Role=ROLE_ARN,
            Command={
                "Name": job["Command"]["Name"],
                "ScriptLocation": _sub(job["Command"]["ScriptLocation"], bucket, resources),
            },
            DefaultArguments=default_arguments,
            ExecutionProperty=job["ExecutionProperty"],
        )

        lambdas = Lambdas(template, bucket)
        with local_glue_jobs({job["Name"]: glue_job.main}) as glue, local_lambda(lambdas.callables()) as runtime:
            run = run_state_machine(
                template,
                MACHINE,
                request,
                execution_name=execution,
                values=substitution_values(template, bucket),
                config=MOTO_CONFIG,
                timeout_seconds=240,
            )
        items = ddb.scan(TableName=testkit.CANDIDATES_TABLE)["Items"]
        events = received_events(local, queue)  # type: ignore[arg-type]
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"executions/{execution}/")
        objects = {
            o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing.get("Contents", [])
        }
    ceap_aws.reset_clients()
    return BatchRun(run, runtime, glue.runs, items, events, objects, time.monotonic() - started)


@dataclass
class _Clients:
    """The clients ``capture_events`` / ``received_events`` of conftest.py use."""

    s3: Any
    events: Any
    sqs: Any


@pytest.fixture(scope="module")
def spark() -> Any:
    """The test process's one SparkSession, started before the clock of the first run starts."""
    return spark_session()


# --------------------------------------------------------------------------------------------
# 1. End to end, in parts
# --------------------------------------------------------------------------------------------

# Expected figures, by hand from the program of testkit.program_config() (filters: eligibility
# requires "email"; business_rule minOrderValue 10) and the rules of docs/data.md / lambdas/README.md:
SIX_KEPT = [("C1", "B001"), ("C2", "B002"), ("C3", "B003"), ("C4", "B004"), ("C5", "B005"), ("C6", "B006")]
ROWS = [
    testkit.raw_row("C1", "B001", total=80.0, channels={"email": True, "push": True}, when="2026-11-20"),
    testkit.raw_row("C2", "B002", total=12.0, channels={"email": True}),
    testkit.raw_row("C7", "B007", total=3.0, channels={"email": True}),  # below minOrderValue 10: Filter
    testkit.raw_row("C3", "B003", total=30.0, channels={"email": True}),
    {"customer_id": "C8"},  # no subject, no event date: ETL skips the row (errorCount)
    testkit.raw_row("C4", "B004", total=40.0, channels={"email": True}),
    testkit.raw_row("C9", "B009", total=25.0, channels=["sms"]),  # not e-mail eligible: Filter
    testkit.raw_row("C5", "B005", total=50.0, channels={"email": True}),
    testkit.raw_row("C1", "B001", total=90.0, channels={"email": True}, when="2026-11-25"),  # later: Glue keeps it
    testkit.raw_row("C6", "B006", total=60.0, channels={"email": True}),
]
REQUEST = testkit.request(records=ROWS)
# 10 rows → ETL: 9 candidates, 1 error → Filter rejects 2 → 7 → HeavyETL drops the earlier C1/B001
# (docs/data.md: latest eventDate wins) → 6 → 3 parts of 2 → Score 3, Store 3. The first 4 rows are
# inline, the other 6 three objects of 2 rows: ETL's shards write parts of at most 2 each, at least 5.
INLINE_ROWS = 4
EXPECTED_PARTS = {"Score": 3, "Store": 3}


@pytest.mark.usefixtures("spark")
def test_batch_machine_in_parts__real_handlers_and_glue__stores_the_kept_candidates() -> None:
    template = sharded(load_template())
    execution = "e2e-batch-parts"
    request, objects = split_source(ROWS, INLINE_ROWS)

    result = execute(template, request, execution, sources=objects)
    run = result.run

    assert (run.status, run.error) == ("SUCCEEDED", None), run.cause
    # The states of issue 16, in order: ETL's plan, its Map over the source shards and its manifest →
    # HeavyETL → each Map followed by its manifest step → Reactive (the children's states, FilterPart...,
    # belong to their own executions).
    entered = [s for s in run.entered() if not s.endswith("Part")]
    assert entered == [
        "NormaliseInput",
        "FromStartExecution",
        "ETLPlan",
        "ETL",
        "ETLManifest",
        "Filter",
        "FilterManifest",
        "HeavyETL",
        "Score",
        "ScoreManifest",
        "Store",
        "StoreManifest",
        "Reactive",
    ], entered

    # At least 3 children per mapped stage (issue 16), each on one parts.json item of the previous stage.
    for map_state, previous in MAPPED_STAGES.items():
        children = result.children(f"{map_state}Function")
        items = result.json(f"executions/{execution}/{previous}/parts.json")
        assert len(children) == len(items) == EXPECTED_PARTS.get(map_state, len(items)) >= 3, (map_state, items)
        assert sorted(c["part"]["index"] for c in children) == list(range(len(items)))
        for child in children:
            assert child == {
                "executionId": execution,
                "currentStage": map_state,
                "previousStage": previous,
                "workflowBucket": testkit.BUCKET,
                "part": items[child["part"]["index"]],
            }
        results = sorted(k for k in result.objects if k.startswith(f"executions/{execution}/{map_state}/results/"))
        assert results == [f"executions/{execution}/{map_state}/results/part-{i:05d}.json" for i in range(len(items))]
        manifest = result.json(f"executions/{execution}/{map_state}/output.json")
        assert len(manifest["parts"]) == len(items)
    # ETL ran once per source shard of its plan: at least 3, shard 0 with the inline records, and the
    # shards' byte ranges cover each object once, end to end.
    shards = result.json(f"executions/{execution}/ETL/sources.json")
    sourced = [i.event for i in result.lambdas.invocations if i.function == "ETLFunction" and "source" in i.event]
    assert sorted((e["source"] for e in sourced), key=lambda shard: shard["index"]) == shards
    assert len(shards) >= 3 and [sh["inline"] for sh in shards] == [True] + [False] * (len(shards) - 1)
    for key, body in objects.items():
        ranges = sorted((r["start"], r["end"]) for sh in shards for r in sh["ranges"] if r["key"] == key)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(body), (key, ranges)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges)), (key, ranges)
        assert all(end - start <= SMALL_SHARD_BYTES for start, end in ranges)
    etl_parts = result.json(f"executions/{execution}/ETL/output.json")
    assert etl_parts["count"] == 9 and etl_parts["metrics"]["errorCount"] == 1
    started = [e for e in run.history if e["type"] == "MapRunStarted"]
    assert len(started) == len(MAPPED_STAGES) + 1  # and the ETL Map over the source shards

    # The real Glue job ran once, on the arguments of the task, and wrote parts of --part-size.
    (glue_run,) = result.glue_runs
    assert (glue_run.state, glue_run.error_message) == ("SUCCEEDED", None), glue_run.stderr
    assert glue_run.arguments["--part-size"] == str(SMALL_PART)
    assert glue_run.arguments["--input-key"] == f"executions/{execution}/Filter/output.json"
    heavy = result.json(f"executions/{execution}/HeavyETL/output.json")
    assert [p["count"] for p in heavy["parts"]] == [2, 2, 2]
    assert heavy["metrics"]["droppedCount"] == 1

    # The Candidates table: the six kept candidates, C1/B001 from its later row.
    stored = {(i["PK"]["S"], i["SK"]["S"]): json.loads(i["data"]["S"]) for i in result.items}
    assert set(stored) == {(f"CUSTOMER#{c}#PROGRAM#retail#MARKETPLACE#US", f"SUBJECT#product#{s}") for c, s in SIX_KEPT}
    c1 = stored[("CUSTOMER#C1#PROGRAM#retail#MARKETPLACE#US", "SUBJECT#product#B001")]
    assert c1["attributes"]["orderValue"] == 90.0
    assert {d["metadata"]["workflowExecutionId"] for d in stored.values()} == {execution}
    assert all("features" in d and "scores" in d for d in stored.values())

    # The Reactive summary: README "Reactive summary" (totalRejected = Filter's rejectedCount + the
    # Glue step's droppedCount), counted from each stage manifest's metrics.
    (event,) = result.events
    assert event["detail-type"] == "WorkflowCompleted"
    assert event["detail"] == {
        "programId": "retail",
        "marketplace": "US",
        "executionId": execution,
        "totalProcessed": 10,
        "totalStored": 6,
        "totalRejected": 3,
        "totalErrors": 1,
        "success": True,
    }
    print(f"batch e2e in parts: {result.seconds:.1f} s, HeavyETL {glue_run.seconds:.1f} s")


def test_batch_machine__glue_job_fails__execution_fails_in_heavy_etl_with_the_jobs_message() -> None:
    # A --part-size the job refuses: main() writes "heavy_etl: error: ..." and exits with status 2
    # (glue/ceap_glue/job.py); Glue fails the run, the .sync task fails and the Catch ends the machine.
    template = sharded(load_template())
    states = template["Resources"][MACHINE]["Properties"]["Definition"]["States"]
    states["HeavyETL"]["Parameters"]["Arguments"]["--part-size"] = "0"
    execution = "e2e-batch-glue-fails"

    result = execute(template, REQUEST, execution)

    message = "heavy_etl: error: argument --part-size: expected an integer > 0, got '0'"
    (glue_run,) = result.glue_runs
    assert (glue_run.state, glue_run.error_message) == ("FAILED", message)
    assert (result.run.status, result.run.error) == ("FAILED", "HeavyETLError")
    assert message in (result.run.cause or "")
    assert result.run.entered()[-1] == "HeavyETLFailed"
    assert not [k for k in result.objects if f"/{execution}/HeavyETL/" in k]
    assert result.children("ScoreFunction") == [] and result.items == [] and result.events == []


# --------------------------------------------------------------------------------------------
# 2. Property: the sharded run stores what the single-part run stores
# --------------------------------------------------------------------------------------------

_days = st.sampled_from(["2026-02-20", "2026-02-25", "2026-02-27", "2026-02-28T10:30:00Z"])
_email = st.sampled_from([{"email": True}, {"email": True, "sms": False}, ["email", "push"], "email,sms"])
_not_email = st.sampled_from([{"email": False, "push": True}, ["sms"], "push"])


@st.composite
def batch_requests(draw: st.DrawFn) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """5-14 rows (0-2 of them inline, the rest JSON Lines objects) and the keys they must leave in the table.

    At least five distinct keys pass every filter (so HeavyETL keeps five: three parts of 2 for
    Score and Store), mixed with rows Filter rejects (order total below 10, no e-mail channel),
    duplicates of kept keys (other totals, dates: the Glue step keeps one per key) and rows ETL skips.
    """
    keys = draw(st.lists(st.tuples(st.sampled_from("ABCDEFG"), st.integers(1, 3)), min_size=5, max_size=8, unique=True))
    kept = {(f"C{c}", f"B{n:03d}") for c, n in keys}
    rows = [
        testkit.raw_row(c, s, total=draw(st.integers(10, 500)), channels=draw(_email), when=draw(_days))
        for c, s in sorted(kept)
    ]
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["low-total", "no-email", "duplicate", "duplicate", "malformed"]))
        if kind == "low-total":
            rows.append(
                testkit.raw_row("CX", f"B9{len(rows):02d}", total=draw(st.floats(0, 9.99)), channels=draw(_email))
            )
        elif kind == "no-email":
            rows.append(testkit.raw_row("CY", f"B8{len(rows):02d}", total=50.0, channels=draw(_not_email)))
        elif kind == "duplicate":
            c, s = draw(st.sampled_from(sorted(kept)))
            rows.append(
                testkit.raw_row(
                    c, s, total=draw(st.integers(0, 500)), channels=draw(_email | _not_email), when=draw(_days)
                )
            )
        else:
            rows.append({"customer_id": "CZ", "event_time": draw(_days)})  # no subject: ETL skips it
    return {"rows": draw(st.permutations(rows)), "inline": draw(st.integers(0, 2))}, kept


@pytest.mark.usefixtures("spark")
@settings(max_examples=4, deadline=None)
@given(case=batch_requests())
def test_batch_machine__sharded_run_stores_what_the_single_part_run_stores(
    case: tuple[dict[str, Any], set[tuple[str, str]]],
) -> None:
    drawn, kept = case
    request, objects = split_source(drawn["rows"], drawn["inline"])
    committed = load_template()  # PART_SIZE 10000 and 64 MiB shards ≥ every generated input: one part per stage
    execution = "e2e-batch-property"  # the same in both runs: it is part of each stored item
    with pytest.MonkeyPatch.context() as patch:
        # One instant for both runs (createdAt, expiresAt, the scores, the Glue --reference-time),
        # as tests/lambdas/test_sharded_handoff.py freezes the handlers' clock.
        for module in (etl, filter, score):
            patch.setattr(module, "utcnow", lambda: testkit.NOW)
        single = execute(committed, request, execution, reference_time=testkit.NOW, sources=objects)
        fanned = execute(sharded(committed), request, execution, reference_time=testkit.NOW, sources=objects)

    for result in (single, fanned):
        assert (result.run.status, result.run.error) == ("SUCCEEDED", None), result.run.cause
    for map_state, previous in MAPPED_STAGES.items():
        assert len(single.children(f"{map_state}Function")) == 1
        assert len(fanned.children(f"{map_state}Function")) >= 3, map_state
        assert len(fanned.json(f"executions/{execution}/{previous}/parts.json")) >= 3
    assert len(single.json(f"executions/{execution}/ETL/sources.json")) == 1
    assert len(fanned.json(f"executions/{execution}/ETL/sources.json")) >= 3
    assert {(i["PK"]["S"], i["SK"]["S"]) for i in fanned.items} == {
        (f"CUSTOMER#{c}#PROGRAM#retail#MARKETPLACE#US", f"SUBJECT#product#{s}") for c, s in kept
    }
    by_key = {(i["PK"]["S"], i["SK"]["S"]): i for i in single.items}
    assert {(i["PK"]["S"], i["SK"]["S"]): i for i in fanned.items} == by_key
    assert [e["detail"] for e in fanned.events] == [e["detail"] for e in single.events]
    print(f"single {single.seconds:.1f} s, sharded {fanned.seconds:.1f} s")
