"""Fixtures and AWS fakes of the handler tests: environment, moto (S3, DynamoDB, EventBridge, SQS),
Lambda context, failing clients. Plain data builders live in :mod:`testkit`.

Environment variables are set before ``ceap_handlers`` is imported: powertools reads the
service name, namespace and ``POWERTOOLS_TRACE_DISABLED`` when the handler modules load.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "ceap-test",
    "POWERTOOLS_METRICS_NAMESPACE": "Ceap",
    "LOG_LEVEL": "INFO",
}.items():
    os.environ.setdefault(_name, _value)


import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402

from ceap_handlers import aws as ceap_aws  # noqa: E402

from . import testkit  # noqa: E402


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that powertools reads."""

    function_name: str = "ceap-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ceap-test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/ceap-test-function"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment variables the templates set on the functions, with the test resources."""
    for name, value in testkit.HANDLER_ENV.items():
        monkeypatch.setenv(name, value)


#: The tables the committed dev templates define, by the environment variable naming each.
TABLE_TEMPLATES = {
    "CANDIDATES_TABLE": ("CeapDatabase-dev.template.json", "CandidatesTableB438AE0C"),
    "PROGRAM_CONFIG_TABLE": ("CeapDatabase-dev.template.json", "ProgramConfigTableE4B88D2D"),
    "SCORE_CACHE_TABLE": ("CeapDatabase-dev.template.json", "ScoreCacheTable789CCB88"),
    "DEDUPLICATION_TABLE": ("CeapServingAPI-dev.template.json", "DeduplicationTableAD30DFB7"),
}
_CREATE_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode")


def create_tables(ddb: Any) -> None:
    """The four tables with the keys and indexes of the committed templates (one schema, theirs)."""
    for variable, (template, logical_id) in TABLE_TEMPLATES.items():
        body = json.loads((testkit.BUILD / "dev" / template).read_text())
        props = body["Resources"][logical_id]["Properties"]
        ddb.create_table(
            TableName=testkit.HANDLER_ENV[variable], **{k: props[k] for k in _CREATE_TABLE_PROPERTIES if k in props}
        )


def put_program(table: Any, config: dict[str, Any], marketplace: str | None = None) -> None:
    """Store a program configuration (or a marketplace override) in ProgramConfig."""
    sk = "CONFIG" if marketplace is None else f"MARKETPLACE#{marketplace}"
    table.put_item(Item={"PK": f"PROGRAM#{config.get('programId', 'retail')}", "SK": sk, **testkit.dynamo_item(config)})


class Faulty:
    """Wraps a boto3 client; listed operations raise the given exceptions instead."""

    def __init__(self, inner: Any, **failures: BaseException) -> None:
        self._inner = inner
        self._failures = failures
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in self._failures:

            def fail(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                raise self._failures[name]

            return fail
        return getattr(self._inner, name)


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    """The ClientError botocore raises for an AWS error response."""
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


def use_clients(monkeypatch: pytest.MonkeyPatch, **clients: Any) -> None:
    """Make the handlers' shared clients of the named services these (e.g. a :class:`Faulty`)."""
    original = ceap_aws.client
    monkeypatch.setattr(ceap_aws, "client", lambda service: clients.get(service) or original(service))


@dataclass
class LocalAws:
    """Clients of the moto backend the handlers talk to."""

    s3: Any
    ddb: Any
    events: Any
    sqs: Any
    program_table: Any

    def put_json(self, key: str, value: Any, bucket: str = testkit.BUCKET) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(value).encode())

    def get_json(self, key: str, bucket: str = testkit.BUCKET) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def object_keys(self, prefix: str = "", bucket: str = testkit.BUCKET) -> list[str]:
        response = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in response.get("Contents", []))

    def candidate_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.ddb.scan(TableName=testkit.CANDIDATES_TABLE)["Items"]
        return items


@pytest.fixture
def local_aws(handler_env: None) -> Iterator[LocalAws]:
    """moto in-process: the bucket, the four tables and the retail program configuration."""
    ceap_aws.reset_clients()
    with mock_aws():
        s3 = boto3.client("s3")
        ddb = boto3.client("dynamodb")
        s3.create_bucket(Bucket=testkit.BUCKET)
        create_tables(ddb)
        program_table = boto3.resource("dynamodb").Table(testkit.PROGRAM_CONFIG_TABLE)
        put_program(program_table, testkit.program_config())
        yield LocalAws(s3, ddb, boto3.client("events"), boto3.client("sqs"), program_table)
    ceap_aws.reset_clients()


def capture_events(local: LocalAws, source: str = "ceap.workflow") -> str:
    """Route events of ``source`` on the default bus to a new SQS queue; returns its URL."""
    queue_url: str = local.sqs.create_queue(QueueName="captured-events")["QueueUrl"]
    queue_arn = local.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    local.events.put_rule(Name="capture", EventPattern=json.dumps({"source": [source]}))
    local.events.put_targets(Rule="capture", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def received_events(local: LocalAws, queue_url: str) -> list[dict[str, Any]]:
    messages = local.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the powertools logger writes (its handler keeps the stdout of import time)."""
    from ceap_handlers.observability import logger

    buffer = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", buffer)
    return buffer


def log_records(text: str) -> list[dict[str, Any]]:
    """The JSON log records (not EMF metric records) among captured stdout lines."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "_aws" not in record:
            records.append(record)
    return records
