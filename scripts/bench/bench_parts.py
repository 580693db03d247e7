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

Usage::

    python scripts/bench/bench_parts.py [--sizes 100000 1000000] [--part-size 10000]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--part-size", type=int, default=parts.DEFAULT_PART_SIZE)
    parser.add_argument("--store-max", type=int, default=100_000, help="largest total size Store runs at")
    parser.add_argument(
        "--stages", nargs="+", choices=list(HANDLERS), default=list(HANDLERS), help="each reads the one before it"
    )
    args = parser.parse_args(argv)
    os.environ["PART_SIZE"] = str(args.part_size)
    os.environ["CANDIDATES_TABLE"] = CANDIDATES_TABLE
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
        program = json.loads(json.dumps(stage_bench.PROGRAM), parse_float=Decimal)
        boto3.resource("dynamodb").Table(stage_bench.TABLES["PROGRAM_CONFIG_TABLE"]).put_item(Item=program)
        os.environ["PROGRAM_CONFIG_TABLE"] = stage_bench.TABLES["PROGRAM_CONFIG_TABLE"]
        os.environ.pop("SCORE_CACHE_TABLE", None)
        for total in args.sizes:
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
    print(f"{'total':>9} {'stage':<7} {'input':>9} {'parts':>5} {'peak MB':>8} {'cand/s/inv':>11} {'wall s':>7}")
    for r in rows:
        print(
            f"{r['total']:>9} {r['stage']:<7} {r['input']:>9} {r['parts']:>5} {r['peak_mb']:>8.1f}"
            f" {r['cand_s']:>11.0f} {r['wall']:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
