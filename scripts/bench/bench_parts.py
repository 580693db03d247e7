#!/usr/bin/env python3
"""Sharded hand-off (issue 16): per-invocation peak memory and throughput of the part children.

Runs the real Filter, Score and Store handlers in their Distributed Map child mode (one event per
``parts.json`` item) against moto in-process S3/DynamoDB, then their manifest step. The input
parts are generated and written one at a time, so the benchmark itself never holds more than one
part. Peak memory is traced (``tracemalloc``) on separate calls of the first and the last part,
because tracing slows Python down; throughput is candidates per second of the untraced calls.
A flat peak between the total sizes shows that memory is bounded by ``PART_SIZE``, not the run.

Store is measured up to ``--store-max`` candidates: moto's in-process DynamoDB (about a
millisecond per BatchWriteItem) would otherwise measure moto.

ETL (``--etl-sizes``) runs as the batch machine runs it over an ``s3_jsonl`` source of that many
rows (objects of ``PART_SIZE`` lines): the plan step cuts the source into shards of
``--shard-mb`` (``SOURCE_SHARD_BYTES``), one invocation per shard writes its parts, the manifest
step numbers them. Timed untraced; the traced shard invocations drop their PutObject bodies after
encoding, since moto keeps every object it is sent in this process and that is S3's memory, not
the function's. The manifest step
(``--collect-parts``) is timed with ``collectParts: true`` over that many part results in S3.

Usage::

    python scripts/bench/bench_parts.py [--sizes 100000 1000000] [--part-size 10000]
        [--etl-sizes 100000 1000000] [--shard-mb 64] [--collect-parts 100 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

# stage_bench sets the environment, puts lambdas/ on sys.path and has the program and candidate generator.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
import stage_bench
from moto import mock_aws

from ceap_handlers import aws as ceap_aws
from ceap_handlers.contract import parts
from ceap_handlers.handlers import etl as etl_handler
from ceap_handlers.handlers import filter as filter_handler
from ceap_handlers.handlers import score as score_handler
from ceap_handlers.handlers import store as store_handler

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
BUCKET = stage_bench.BUCKET
CANDIDATES_TABLE = "Candidates-bench"
HANDLERS: dict[str, Handler] = {
    "Filter": filter_handler.handler,
    "Score": score_handler.handler,
    "Store": store_handler.handler,
}


def quiet(handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):  # EMF metric records
        return handler(event, stage_bench.Context())


def peak_bytes(handler: Handler, event: dict[str, Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        quiet(handler, event)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def write_input_parts(s3: Any, execution: str, total: int, size: int) -> None:
    """ETL's output as the sharded hand-off: parts generated and written one at a time."""
    listed = []
    for index, start in enumerate(range(0, total, size)):
        chunk = stage_bench.candidates(min(size, total - start), seed=index)
        for offset, candidate in enumerate(chunk):
            candidate["customerId"] = f"CUST{start + offset:08d}"
        key = parts.part_key(execution, "ETL", index)
        s3.put_object(Bucket=BUCKET, Key=key, Body=parts.encode_part(chunk))
        listed.append({"key": key, "count": len(chunk)})
        del chunk
    header = {"programId": "retail", "marketplace": "US"}
    body = parts.manifest("ETL", listed, {}, header)
    s3.put_object(Bucket=BUCKET, Key=f"executions/{execution}/ETL/output.json", Body=json.dumps(body).encode())
    items = parts.parts_items(listed)
    s3.put_object(Bucket=BUCKET, Key=parts.parts_list_key(execution, "ETL"), Body=json.dumps(items).encode())


def run_stage(s3: Any, execution: str, current: str, previous: str, handler: Handler) -> dict[str, Any]:
    """All children of one mapped stage, then its manifest step; returns the figures."""
    items = json.loads(s3.get_object(Bucket=BUCKET, Key=parts.parts_list_key(execution, previous))["Body"].read())
    base = stage_bench.payload(execution, current, previous)
    peaks = [peak_bytes(handler, {**base, "part": item}) for item in (items[0], items[-1])]
    results, rates = [], []
    started = time.perf_counter()
    for item in items:
        gc.collect()
        t0 = time.perf_counter()
        results.append(quiet(handler, {**base, "part": item}))
        rates.append(item["count"] / max(time.perf_counter() - t0, 1e-9))
    quiet(handler, {**base, "partResults": results})
    wall = time.perf_counter() - started
    return {
        "stage": current,
        "input": sum(item["count"] for item in items),
        "parts": len(items),
        "peak_mb": max(peaks) / 1e6,
        "cand_s": sorted(rates)[len(rates) // 2],
        "wall": wall,
    }


SOURCE_PREFIX = "sources/bench/"
#: The program's source connector for the ETL run (the raw row layout of ``source_rows``).
CONNECTOR = {
    "connectorId": "orders",
    "connectorType": "s3_jsonl",
    "enabled": True,
    "sourceConfig": {
        "prefix": SOURCE_PREFIX,
        "fieldMappings": [
            {"targetField": "customerId", "sourceField": "customer_id", "type": "STRING"},
            {"targetField": "subjectType", "sourceField": "subject_type", "type": "STRING", "default": "product"},
            {"targetField": "subjectId", "sourceField": "asin", "type": "STRING"},
            {"targetField": "eventDate", "sourceField": "event_time", "type": "INSTANT"},
            {"targetField": "orderValue", "sourceField": "order.total", "type": "DOUBLE"},
            {"targetField": "channelEligibility", "sourceField": "channels"},
        ],
    },
}


def write_source(s3: Any, total: int, per_object: int) -> None:
    """``total`` raw rows under SOURCE_PREFIX, one object of ``per_object`` lines at a time."""
    for key in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=SOURCE_PREFIX).get("Contents", [])]:
        s3.delete_object(Bucket=BUCKET, Key=key)
    for index, start in enumerate(range(0, total, per_object)):
        lines = []
        for offset, c in enumerate(stage_bench.candidates(min(per_object, total - start), seed=index)):
            row = {
                "customer_id": f"CUST{start + offset:08d}",
                "asin": c["subject"]["id"],
                "event_time": c["attributes"]["eventDate"],
                "channels": c["attributes"]["channelEligibility"],
            }
            if "orderValue" in c["attributes"]:
                row["order"] = {"total": c["attributes"]["orderValue"]}
            lines.append(json.dumps(row))
        s3.put_object(Bucket=BUCKET, Key=f"{SOURCE_PREFIX}{index:05d}.jsonl", Body="\n".join(lines).encode())


class DroppingWrites(ceap_aws.S3ObjectStore):
    """S3 reads as usual; writes are encoded (the function's work) but not sent to moto."""

    def put_bytes(self, bucket: str, key: str, body: bytes, content_type: str = "application/x-ndjson") -> None:
        del body

    def put_json(self, bucket: str, key: str, value: Any) -> None:
        json.dumps(value, separators=(",", ":")).encode()


def bench_etl(s3: Any, total: int, size: int) -> dict[str, Any]:
    """ETL over ``total`` source rows as the batch machine runs it: plan, one child per shard, manifest.

    Timed untraced (candidates/s per shard invocation, wall time of the three steps); peak memory
    traced on separate calls of the first and the last shard (the largest and a partial one).
    """
    write_source(s3, total, size)
    execution = f"etl-{total}"
    request = {"programId": "retail", "marketplace": "US", "dateRange": {"start": "2026-01-01", "end": "2026-01-02"}}
    base = {**stage_bench.payload(execution, "ETL", "x"), "previousStage": None, "initialData": request}
    gc.collect()
    started = time.perf_counter()
    quiet(etl_handler.handler, {**base, "output": "plan"})
    shards = json.loads(s3.get_object(Bucket=BUCKET, Key=parts.sources_list_key(execution, "ETL"))["Body"].read())
    shard_seconds = []
    for shard in shards:
        began = time.perf_counter()
        quiet(etl_handler.handler, {**base, "source": shard})
        shard_seconds.append(time.perf_counter() - began)
    quiet(etl_handler.handler, {**base, "collectSources": True})
    wall = time.perf_counter() - started
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"executions/{execution}/ETL/output.json")["Body"].read())
    real_store = ceap_aws.S3ObjectStore
    ceap_aws.S3ObjectStore = DroppingWrites  # type: ignore[misc]
    try:
        traced = {**base, "executionId": f"{execution}-traced"}
        peaks = [peak_bytes(etl_handler.handler, {**traced, "source": shard}) for shard in (shards[0], shards[-1])]
    finally:
        ceap_aws.S3ObjectStore = real_store  # type: ignore[misc]
    return {
        "rows": total,
        "shards": len(shards),
        "shard_mb": max(sh["bytes"] for sh in shards) / 2**20,
        "candidates": manifest["count"],
        "parts": len(manifest["parts"]),
        "peak_mb": max(peaks) / 1e6,
        "cand_s": manifest["count"] / sum(shard_seconds),
        "wall": wall,
    }


def bench_collect(s3: Any, count: int) -> dict[str, Any]:
    """The collectParts manifest step over ``count`` part results (what Filter children write)."""
    execution = f"collect-{count}"
    items = []
    for index in range(count):
        key = parts.part_key(execution, "Filter", index)
        result = {
            "key": key,
            "count": 8000,
            "index": index,
            "metrics": {"inputCount": 10000, "passedCount": 8000, "rejectedCount": 2000,
                        "rejectedByFilter": {"eligible": 700, "rules": 1300}},
            "header": {"programId": "retail", "marketplace": "US"},
        }  # fmt: skip
        s3.put_object(Bucket=BUCKET, Key=parts.part_result_key(execution, "Filter", index), Body=json.dumps(result))
        items.append({"key": parts.part_key(execution, "ETL", index), "count": 10000, "index": index})
    s3.put_object(Bucket=BUCKET, Key=parts.parts_list_key(execution, "ETL"), Body=json.dumps(items).encode())
    event = {**stage_bench.payload(execution, "Filter", "ETL"), "collectParts": True}
    gc.collect()
    started = time.perf_counter()
    result = quiet(filter_handler.handler, event)
    wall = time.perf_counter() - started
    return {
        "parts": count,
        "count": result["recordsProcessed"],
        "wall": wall,
        "peak_mb": peak_bytes(filter_handler.handler, event) / 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--part-size", type=int, default=parts.DEFAULT_PART_SIZE)
    parser.add_argument("--store-max", type=int, default=100_000, help="largest total size Store runs at")
    parser.add_argument(
        "--stages", nargs="*", choices=list(HANDLERS), default=list(HANDLERS), help="each reads the one before it"
    )
    parser.add_argument("--etl-sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="source rows")
    parser.add_argument("--shard-mb", type=int, default=64, help="source bytes per ETL shard (MiB)")
    parser.add_argument("--collect-parts", type=int, nargs="*", default=[100, 1000], help="manifest step sizes")
    args = parser.parse_args(argv)
    etl_rows: list[dict[str, Any]] = []
    collect_rows: list[dict[str, Any]] = []
    os.environ["PART_SIZE"] = str(args.part_size)
    os.environ["CANDIDATES_TABLE"] = CANDIDATES_TABLE
    shard_bytes = args.shard_mb * 2**20
    os.environ[parts.SOURCE_SHARD_BYTES_VARIABLE] = str(shard_bytes)
    rows = []
    with mock_aws():
        ceap_aws.reset_clients()
        s3 = boto3.client("s3")
        ddb = boto3.client("dynamodb")
        s3.create_bucket(Bucket=BUCKET)
        for table in (*stage_bench.TABLES.values(), CANDIDATES_TABLE):
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        program = json.loads(json.dumps({**stage_bench.PROGRAM, "dataConnectors": [CONNECTOR]}), parse_float=Decimal)
        boto3.resource("dynamodb").Table(stage_bench.TABLES["PROGRAM_CONFIG_TABLE"]).put_item(Item=program)
        os.environ["PROGRAM_CONFIG_TABLE"] = stage_bench.TABLES["PROGRAM_CONFIG_TABLE"]
        os.environ.pop("SCORE_CACHE_TABLE", None)
        for total in args.etl_sizes:
            etl_rows.append(bench_etl(s3, total, args.part_size))
            print(etl_rows[-1], file=sys.stderr, flush=True)
        for count in args.collect_parts:
            collect_rows.append(bench_collect(s3, count))
            print(collect_rows[-1], file=sys.stderr, flush=True)
        for total in args.sizes if args.stages else []:
            execution = f"parts-{total}"
            write_input_parts(s3, execution, total, args.part_size)
            previous = "ETL"
            for current in args.stages:
                if current == "Store" and total > args.store_max:
                    continue
                rows.append({"total": total, **run_stage(s3, execution, current, previous, HANDLERS[current])})
                previous = current
                print(rows[-1], file=sys.stderr, flush=True)
    print(f"Sharded hand-off benchmark: PART_SIZE {args.part_size}, {os.cpu_count()} CPUs, moto in-process")
    if etl_rows:
        print(f"ETL over source shards (s3_jsonl source; {parts.SOURCE_SHARD_BYTES_VARIABLE} {shard_bytes:,}):")
        print(
            f"{'rows':>9} {'shards':>6} {'shard MB':>8} {'candidates':>10} {'parts':>5} {'peak MB':>8}"
            f" {'cand/s/inv':>10} {'wall s':>7}"
        )
        for r in etl_rows:
            print(
                f"{r['rows']:>9} {r['shards']:>6} {r['shard_mb']:>8.1f} {r['candidates']:>10} {r['parts']:>5}"
                f" {r['peak_mb']:>8.1f} {r['cand_s']:>10.0f} {r['wall']:>7.1f}"
            )
    if collect_rows:
        print("Manifest step, collectParts (part results read from S3):")
        print(f"{'parts':>5} {'count':>9} {'peak MB':>8} {'wall s':>7}")
        for r in collect_rows:
            print(f"{r['parts']:>5} {r['count']:>9} {r['peak_mb']:>8.1f} {r['wall']:>7.2f}")
    if not rows:
        return 0
    print("Part children:")
    print(f"{'total':>9} {'stage':<7} {'input':>9} {'parts':>5} {'peak MB':>8} {'cand/s/inv':>11} {'wall s':>7}")
    for r in rows:
        print(
            f"{r['total']:>9} {r['stage']:<7} {r['input']:>9} {r['parts']:>5} {r['peak_mb']:>8.1f}"
            f" {r['cand_s']:>11.0f} {r['wall']:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
