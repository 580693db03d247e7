"""Fixtures of the handler tests: environment, moto (S3, DynamoDB, EventBridge, SQS), context.

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
    """The environment variables the templates set on the functions."""
    monkeypatch.setenv("CANDIDATES_TABLE", testkit.CANDIDATES_TABLE)
    monkeypatch.setenv("PROGRAM_CONFIG_TABLE", testkit.PROGRAM_CONFIG_TABLE)
    monkeypatch.setenv("SCORE_CACHE_TABLE", testkit.SCORE_CACHE_TABLE)
    monkeypatch.setenv("DEDUPLICATION_TABLE", testkit.DEDUP_TABLE)
    monkeypatch.setenv("WORKFLOW_BUCKET", testkit.BUCKET)
    monkeypatch.setenv("EVENT_BUS_NAME", "default")


def create_tables(ddb: Any, *, candidates: str, program_config: str, score_cache: str, dedup: str) -> None:
    """The four tables with the key schemas of LEGACY.md."""
    pk_sk = {
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    strings = lambda *names: [{"AttributeName": n, "AttributeType": "S"} for n in names]  # noqa: E731
    ddb.create_table(
        TableName=candidates,
        AttributeDefinitions=strings("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"),
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ProgramChannelIndex",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "ProgramDateIndex",
                "KeySchema": [
                    {"AttributeName": "GSI2PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI2SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
        **pk_sk,
    )
    ddb.create_table(TableName=program_config, AttributeDefinitions=strings("PK", "SK"), **pk_sk)
    ddb.create_table(TableName=score_cache, AttributeDefinitions=strings("PK", "SK"), **pk_sk)
    ddb.create_table(
        TableName=dedup,
        AttributeDefinitions=strings("deduplicationKey"),
        KeySchema=[{"AttributeName": "deduplicationKey", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def put_program(table: Any, config: dict[str, Any], marketplace: str | None = None) -> None:
    """Store a program configuration (or a marketplace override) in ProgramConfig."""
    sk = "CONFIG" if marketplace is None else f"MARKETPLACE#{marketplace}"
    table.put_item(Item={"PK": f"PROGRAM#{config.get('programId', 'retail')}", "SK": sk, **testkit.dynamo_item(config)})


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
        create_tables(
            ddb,
            candidates=testkit.CANDIDATES_TABLE,
            program_config=testkit.PROGRAM_CONFIG_TABLE,
            score_cache=testkit.SCORE_CACHE_TABLE,
            dedup=testkit.DEDUP_TABLE,
        )
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
