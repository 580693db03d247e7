#!/usr/bin/env python3
"""Throughput and peak memory of the Filter and Score stage handlers, S3 read and write included.

Runs the real Lambda handlers (``ceap_handlers.handlers.filter.handler`` / ``score.handler``)
against moto in-process: each timed call reads the previous stage's object from S3, validates
every candidate, runs the stage, and writes its output object. Prints candidates per second and
peak traced memory (``tracemalloc``, measured in a separate call because tracing slows Python
down) with bytes per candidate, for each size.

The Score stage is measured without the score cache (``SCORE_CACHE_TABLE`` unset): with it,
every new score is one ``PutItem``, and moto's in-process DynamoDB (about a millisecond per call)
would measure moto, not the stage. A small cached run is printed for reference (``--cache-sample``).

Usage::

    python scripts/bench/stage_bench.py [--sizes 10000 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "ceap-bench-bucket"
TABLES = {"PROGRAM_CONFIG_TABLE": "ProgramConfig-bench", "SCORE_CACHE_TABLE": "ScoreCache-bench"}
NOW = datetime.now(UTC).replace(microsecond=0)

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "Ceap",
    "POWERTOOLS_SERVICE_NAME": "ceap-bench",
    "WORKFLOW_BUCKET": BUCKET,
}.items():
    os.environ.setdefault(name, value)
sys.path.insert(0, str(ROOT / "lambdas"))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from ceap_handlers import aws as ceap_aws  # noqa: E402
from ceap_handlers.handlers import filter as filter_handler  # noqa: E402
from ceap_handlers.handlers import score as score_handler  # noqa: E402


class Context:
    function_name = "ceap-bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ceap-bench"
    aws_request_id = "bench"


PROGRAM = {
    "PK": "PROGRAM#retail",
    "SK": "CONFIG",
    "programId": "retail",
    "enabled": True,
    "marketplaces": ["US"],
    "candidateTTLDays": 30,
    "reactiveEnabled": True,
    "filterChain": {
        "filters": [
            {
                "filterId": "eligible",
                "filterType": "eligibility",
                "parameters": {"requiredChannels": ["email"]},
                "order": 1,
            },
            {
                "filterId": "rules",
                "filterType": "business_rule",
                "parameters": {"minOrderValue": 10, "maxDaysSinceEvent": 90},
                "order": 2,
            },
        ]
    },
    "scoringModels": [
        {
            "modelId": "propensity",
            "modelType": "weighted",
            "modelConfig": {"weights": {"recency": 0.5, "orderValue": 0.3, "channelCount": 0.2}},
        },
        {
            "modelId": "engagement",
            "modelType": "logistic",
            "modelConfig": {"weights": {"recency": 2.0, "channelCount": 1.0}, "bias": -1.0},
        },
    ],
}


def fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def candidates(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Realistic candidates: about 80 % pass the filter chain above."""
    rng = random.Random(seed)
    result = []
    for i in range(count):
        event = NOW - timedelta(days=rng.uniform(0, 100))
        channels = {"email": rng.random() < 0.93, "push": rng.random() < 0.5, "sms": rng.random() < 0.2}
        attributes: dict[str, Any] = {"eventDate": fmt(event), "channelEligibility": channels}
        if rng.random() < 0.97:
            attributes["orderValue"] = round(rng.uniform(5, 300), 2)
        result.append(
            {
                "customerId": f"CUST{i:08d}",
                "context": [{"type": "marketplace", "id": "US"}, {"type": "program", "id": "retail"}],
                "subject": {"type": "product", "id": f"B{rng.randrange(10**9):010d}"},
                "attributes": attributes,
                "metadata": {
                    "createdAt": fmt(NOW),
                    "updatedAt": fmt(NOW),
                    "expiresAt": fmt(NOW + timedelta(days=30)),
                    "version": 1,
                    "sourceConnectorId": "orders",
                    "workflowExecutionId": "bench",
                },
            }
        )
    return result


def payload(execution: str, current: str, previous: str) -> dict[str, Any]:
    return {"executionId": execution, "currentStage": current, "previousStage": previous, "workflowBucket": BUCKET}


def call(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one handler call (CPU time is robust to a busy machine)."""
    gc.collect()
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metric records
        wall, cpu = time.perf_counter(), time.process_time()
        result = handler(event, Context())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result["status"] == "SUCCEEDED", result
    return wall, cpu


def peak_bytes(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            handler(event, Context())
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def object_size(s3: Any, key: str) -> int:
    return int(s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=2, help="timed calls per stage and size (median reported)")
    parser.add_argument(
        "--cache-sample", type=int, default=2000, help="candidates of the reference run with the score cache (0: skip)"
    )
    args = parser.parse_args(argv)

    rows = []
    with mock_aws():
        ceap_aws.reset_clients()
        s3 = boto3.client("s3")
        ddb = boto3.client("dynamodb")
        s3.create_bucket(Bucket=BUCKET)
        for table in TABLES.values():
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        boto3.resource("dynamodb").Table(TABLES["PROGRAM_CONFIG_TABLE"]).put_item(
            Item=json.loads(json.dumps(PROGRAM), parse_float=Decimal)
        )
        os.environ["PROGRAM_CONFIG_TABLE"] = TABLES["PROGRAM_CONFIG_TABLE"]
        os.environ.pop("SCORE_CACHE_TABLE", None)

        for size in args.sizes:
            execution = f"bench-{size}"
            envelope = {"candidates": candidates(size), "programId": "retail", "marketplace": "US", "metrics": {}}
            s3.put_object(
                Bucket=BUCKET, Key=f"executions/{execution}/ETL/output.json", Body=json.dumps(envelope).encode()
            )
            del envelope
            filter_event = payload(execution, "Filter", "ETL")
            score_event = payload(execution, "Score", "Filter")

            filter_times = [call(filter_handler.handler, filter_event) for _ in range(args.repeat)]
            filter_key = f"executions/{execution}/Filter/output.json"
            passed = len(json.loads(s3.get_object(Bucket=BUCKET, Key=filter_key)["Body"].read())["candidates"])
            score_times = [call(score_handler.handler, score_event) for _ in range(args.repeat)]
            for stage, count, times, handler, event, key in (
                (
                    "Filter",
                    size,
                    filter_times,
                    filter_handler.handler,
                    filter_event,
                    f"executions/{execution}/ETL/output.json",
                ),
                ("Score", passed, score_times, score_handler.handler, score_event, filter_key),
            ):
                wall = statistics.median(t[0] for t in times)
                cpu = statistics.median(t[1] for t in times)
                rows.append((stage, count, wall, cpu, peak_bytes(handler, event), object_size(s3, key)))

        cached: list[float] = []
        if args.cache_sample:
            # Reference only: with the cache on, the Score stage is bound by moto's DynamoDB.
            execution = "bench-cache"
            envelope = {
                "candidates": candidates(args.cache_sample, seed=11),
                "programId": "retail",
                "marketplace": "US",
            }
            body = json.dumps(envelope).encode()
            s3.put_object(Bucket=BUCKET, Key=f"executions/{execution}/Filter/output.json", Body=body)
            os.environ["SCORE_CACHE_TABLE"] = TABLES["SCORE_CACHE_TABLE"]
            cached = [call(score_handler.handler, payload(execution, f"Score{n}", "Filter"))[0] for n in (1, 2)]
            os.environ.pop("SCORE_CACHE_TABLE")

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"Stage benchmark: {os.cpu_count()} CPUs (load average {load}), Python {sys.version.split()[0]}")
    print("Handler calls on moto in-process S3, read and write of the hand-off objects included; median of --repeat.")
    header = (
        "stage",
        "candidates",
        "wall s",
        "cand/s",
        "CPU s",
        "cand/s CPU",
        "peak MB",
        "peak B/cand",
        "input B/cand",
    )
    print("".join(f"{h:>13}" if i else f"{h:<8}" for i, h in enumerate(header)))
    for stage, count, wall, cpu, peak, size_bytes in rows:
        values = (
            f"{count:,}",
            f"{wall:.2f}",
            f"{count / wall:,.0f}",
            f"{cpu:.2f}",
            f"{count / cpu:,.0f}",
            f"{peak / 2**20:.1f}",
            f"{peak / count:,.0f}",
            f"{size_bytes / count:,.0f}",
        )
        print(f"{stage:<8}" + "".join(f"{v:>13}" for v in values))
    if cached:
        n = args.cache_sample
        print(
            f"Score with the score cache on moto DynamoDB ({n:,} candidates x 2 models): "
            f"first run {cached[0]:.2f} s ({n / cached[0]:,.0f} cand/s, one PutItem per score), "
            f"second run {cached[1]:.2f} s ({n / cached[1]:,.0f} cand/s, all BatchGetItem hits)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
