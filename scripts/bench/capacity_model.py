#!/usr/bin/env python3
"""Capacity model of one standard-workflow run (issue 16): parts, children, time and cost.

For each run size it works out, from the measured per-candidate figures below (the benchmarks
``bench_parts.py`` and ``glue_bench.py``) and AWS's published prices and quotas (each with its
page), the parts and Map children, the wall time, the DynamoDB write capacity, the Step Functions
state transitions, the Lambda GB-seconds, the Glue DPU-hours and the cost per run. It prints the
Markdown table the README quotes. Figures, not assertions: it runs nothing on AWS.

Assumptions, all upper bounds: every candidate survives Filter (a real run keeps fewer), each
candidate item is one write request unit (under 1 KB), every candidate is newly scored (one score
cache PutItem, best effort: a throttled put is a cache error, the score is still computed), Store's
children together write no faster than a new on-demand table serves, and a Lambda below 1,769 MB
gets CPU in proportion to its memory.

Usage::

    python scripts/bench/capacity_model.py [--candidates 1000000 10000000]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

# ---- measured (scripts/bench/bench_parts.py and glue_bench.py, 2026-12-03, this 2-core machine) ----
#: Seconds of one vCPU per candidate, per stage invocation (S3 reads and writes through moto included).
#: ETL: one source shard's invocation; 7,000/s is the rate on a loaded machine, kept as the
#: conservative figure (a quiet run measures about 16,000/s).
SECONDS_PER_CANDIDATE = {"ETL": 1 / 7_000, "Filter": 1 / 16_252, "Score": 1 / 7_923, "Store": 1 / 821}
#: Bytes per source row of bench_parts.py's ``s3_jsonl`` source (an order: customer, ASIN, time,
#: channels, total): 100,000 rows measured 16.9 MiB; 1,000,000 rows are 3 shards of 64 MiB.
SOURCE_ROW_BYTES = 177
#: The plan step: one ListObjectsV2 page per 1,000 objects, no row read.
PLAN_SECONDS = 1.0
#: Glue: candidates per second per Spark core: glue_bench.py, 1,000,000 candidates in 62.1 s on local[2]
#: (16,106/s over 2 cores).
GLUE_CANDIDATES_PER_CORE_SECOND = 8_000.0
#: Glue job start-up before the first task (Glue 4.0 starts in seconds; billed from start).
GLUE_STARTUP_SECONDS = 60.0
#: The manifest step: seconds per part result read (16 GetObjects at a time).
MANIFEST_SECONDS_PER_PART = 0.006

# ---- the configuration (config/environments.yaml, every environment) -----------------------------
PART_SIZE = 10_000
SOURCE_SHARD_BYTES = 64 * 2**20  # sourceShardMegabytes 64
MAX_SOURCE_SHARDS = 100  # maxSourceShards: the ETL Map's MaxItems
MEMORY_MB = {"ETL": 1769, "Filter": 512, "Score": 1024, "Store": 1024, "Reactive": 1024}
MAP_CONCURRENCY = {"ETL": 100, "Filter": 100, "Score": 100, "Store": 25}
GLUE_WORKERS = 2  # G.1X: 1 DPU, 4 vCPU each; one worker is the driver
GLUE_EXECUTOR_CORES = (GLUE_WORKERS - 1) * 4
LAMBDA_MAX_TIMEOUT_SECONDS = 900  # https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html

# ---- AWS, us-east-1 list prices and quotas -------------------------------------------------------
#: https://aws.amazon.com/lambda/pricing/ (x86): per GB-second and per request.
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1_000_000
#: "At 1,769 MB, a function has the equivalent of one vCPU":
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
LAMBDA_ONE_VCPU_MB = 1769
#: https://aws.amazon.com/step-functions/pricing/ (Standard): per state transition; a Distributed
#: Map's child executions are billed as Standard executions.
SFN_TRANSITION = 0.025 / 1000
#: https://aws.amazon.com/glue/pricing/: per DPU-hour, per second, 1-minute minimum (Glue 2.0+).
GLUE_DPU_HOUR = 0.44
GLUE_MINIMUM_SECONDS = 60
#: https://aws.amazon.com/dynamodb/pricing/on-demand/: per million write request units.
DYNAMODB_WRU = 0.625 / 1_000_000
#: A new on-demand table serves 4,000 writes/s at once and grows with traffic; the default table
#: quota is 40,000 WRU/s: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
DYNAMODB_NEW_TABLE_WRU_PER_SECOND = 4_000
#: https://aws.amazon.com/s3/pricing/: PUT and GET per 1,000 requests (S3 Standard).
S3_PUT = 0.005 / 1000
S3_GET = 0.0004 / 1000

#: States the parent execution enters: the input Choice and Pass, ETLPlan, 4 x (Map + manifest)
#: (ETL, Filter, Score, Store), HeavyETL, Reactive.
PARENT_TRANSITIONS = 13
#: States a child enters: its Task, and the Map's start of the child.
CHILD_TRANSITIONS = 2
MAPPED = ("Filter", "Score", "Store")


@dataclass(frozen=True)
class Run:
    """The model of one run of ``candidates`` candidates."""

    candidates: int

    @property
    def shards(self) -> int:
        """Source shards the plan step cuts (ETL's Map children): at most SOURCE_SHARD_BYTES each."""
        return max(1, math.ceil(self.candidates * SOURCE_ROW_BYTES / SOURCE_SHARD_BYTES))

    @property
    def fits(self) -> bool:
        """The plan step refuses more shards than the ETL Map reads."""
        return self.shards <= MAX_SOURCE_SHARDS

    @property
    def parts(self) -> int:
        # Each shard writes its own parts: at most one partial part per shard beyond the full ones.
        return max(1, min(math.ceil(self.candidates / PART_SIZE) + self.shards - 1, self.candidates))

    @staticmethod
    def cpu_seconds(stage: str, candidates: float) -> float:
        """Seconds one invocation of ``stage`` takes for ``candidates``, at its memory's CPU share."""
        return candidates * SECONDS_PER_CANDIDATE[stage] * max(1.0, LAMBDA_ONE_VCPU_MB / MEMORY_MB[stage])

    @property
    def shard_seconds(self) -> float:
        """One ETL child: the largest shard (a full SOURCE_SHARD_BYTES when there are several)."""
        return self.cpu_seconds("ETL", min(self.candidates, SOURCE_SHARD_BYTES / SOURCE_ROW_BYTES))

    @property
    def etl_seconds(self) -> float:
        waves = math.ceil(self.shards / MAP_CONCURRENCY["ETL"])
        return PLAN_SECONDS + waves * self.shard_seconds + self.parts * MANIFEST_SECONDS_PER_PART

    @property
    def glue_seconds(self) -> float:
        return GLUE_STARTUP_SECONDS + self.candidates / (GLUE_CANDIDATES_PER_CORE_SECOND * GLUE_EXECUTOR_CORES)

    def child_seconds(self, stage: str) -> float:
        """One child's part; Store's children share the Candidates table's write throughput."""
        seconds = self.cpu_seconds(stage, PART_SIZE)
        if stage == "Store":
            at_once = min(self.parts, MAP_CONCURRENCY[stage])
            seconds = max(seconds, PART_SIZE * at_once / DYNAMODB_NEW_TABLE_WRU_PER_SECOND)
        return seconds

    def map_seconds(self, stage: str) -> float:
        waves = math.ceil(self.parts / MAP_CONCURRENCY[stage])
        return waves * self.child_seconds(stage) + self.parts * MANIFEST_SECONDS_PER_PART

    @property
    def wall_seconds(self) -> float:
        return self.etl_seconds + self.glue_seconds + sum(self.map_seconds(s) for s in MAPPED)

    @property
    def children(self) -> int:
        """Map children: one per source shard (ETL), one per part for each later mapped stage."""
        return self.shards + self.parts * len(MAPPED)

    @property
    def store_peak_wru_per_second(self) -> float:
        return PART_SIZE / self.child_seconds("Store") * min(self.parts, MAP_CONCURRENCY["Store"])

    @property
    def write_request_units(self) -> int:
        # Store's candidate items, and Score's cache puts (one per newly scored candidate, at most).
        return 2 * self.candidates

    @property
    def transitions(self) -> int:
        return PARENT_TRANSITIONS + self.children * CHILD_TRANSITIONS

    @property
    def lambda_gb_seconds(self) -> float:
        etl = PLAN_SECONDS + self.cpu_seconds("ETL", self.candidates) + self.parts * MANIFEST_SECONDS_PER_PART
        total = etl * MEMORY_MB["ETL"] / 1024
        for stage in MAPPED:
            total += self.parts * self.child_seconds(stage) * MEMORY_MB[stage] / 1024
        return total

    @property
    def lambda_requests(self) -> int:
        # ETL's plan and manifest, each child, the mapped stages' manifests, Reactive.
        return 2 + self.children + len(MAPPED) + 1

    @property
    def glue_dpu_hours(self) -> float:
        return GLUE_WORKERS * max(GLUE_MINIMUM_SECONDS, self.glue_seconds) / 3600

    @property
    def s3_puts(self) -> int:
        # Plan: sources.json; each ETL child: its parts and its result; ETL manifest: output.json and
        # parts.json; Glue: its parts, parts.json and manifest; each later child: its part and its
        # result; each later manifest step: 2.
        etl = 1 + self.parts + self.shards + 2
        return etl + self.parts + 2 + self.parts * len(MAPPED) * 2 + len(MAPPED) * 2

    @property
    def s3_gets(self) -> int:
        # ETL: each child's ranged source reads (one per object of PART_SIZE rows, at most), the
        # manifest's sources.json and shard results; each later child: its part and the previous
        # manifest; each later manifest step: the parts list and results; Glue its input.
        etl = self.parts + 1 + self.shards
        return etl + self.parts * len(MAPPED) * 2 + len(MAPPED) * (1 + self.parts) + self.parts + 1

    def costs(self) -> dict[str, float]:
        return {
            "Lambda": self.lambda_gb_seconds * LAMBDA_GB_SECOND + self.lambda_requests * LAMBDA_REQUEST,
            "Step Functions": self.transitions * SFN_TRANSITION,
            "Glue": self.glue_dpu_hours * GLUE_DPU_HOUR,
            "DynamoDB": self.write_request_units * DYNAMODB_WRU,
            "S3": self.s3_puts * S3_PUT + self.s3_gets * S3_GET,
        }


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def table(sizes: list[int]) -> str:
    runs = [Run(n) for n in sizes]
    rows: list[tuple[str, list[str]]] = [
        ("parts (`partSize` 10,000)", [f"{r.parts:,}" for r in runs]),
        (f"source shards (64 MiB, at most {MAX_SOURCE_SHARDS})", [f"{r.shards:,}" for r in runs]),
        ("Map children (ETL + Filter + Score + Store)", [f"{r.children:,}" for r in runs]),
        (
            f"ETL shard, one invocation ({LAMBDA_MAX_TIMEOUT_SECONDS} s maximum)",
            [
                f"{r.shard_seconds:,.0f} s"
                + ("" if r.shard_seconds * 1.5 <= LAMBDA_MAX_TIMEOUT_SECONDS else " **does not fit**")
                for r in runs
            ],
        ),
        (
            f"ETL: plan + Map ({MAP_CONCURRENCY['ETL']} at once) + manifest",
            [f"{r.etl_seconds:,.0f} s" + ("" if r.fits else " **too many shards**") for r in runs],
        ),
        ("HeavyETL on 2 G.1X workers", [f"{r.glue_seconds:,.0f} s" for r in runs]),
        *[
            (f"{s} Map ({MAP_CONCURRENCY[s]} at once) + manifest", [f"{r.map_seconds(s):,.0f} s" for r in runs])
            for s in MAPPED
        ],
        ("wall time", [f"{r.wall_seconds / 60:,.0f} min" for r in runs]),
        ("DynamoDB writes (Store + score cache, WRU)", [f"{r.write_request_units:,}" for r in runs]),
        (
            f"Store writes/s (a new table serves {DYNAMODB_NEW_TABLE_WRU_PER_SECOND:,})",
            [f"{r.store_peak_wru_per_second:,.0f}" for r in runs],
        ),
        ("Step Functions state transitions", [f"{r.transitions:,}" for r in runs]),
        ("Lambda GB-seconds (requests)", [f"{r.lambda_gb_seconds:,.0f} ({r.lambda_requests:,})" for r in runs]),
        ("Glue DPU-hours", [f"{r.glue_dpu_hours:.3f}" for r in runs]),
    ]
    for service in runs[0].costs():
        rows.append((f"cost: {service}", [f"${r.costs()[service]:,.3f}" for r in runs]))
    rows.append(("**cost per run**", [f"**${sum(r.costs().values()):,.2f}**" for r in runs]))
    header = "| per run | " + " | ".join(f"{n:,} candidates" for n in sizes) + " |"
    lines = [header, "|---|" + "---|" * len(sizes)]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, nargs="+", default=[1_000_000, 10_000_000])
    print(table(parser.parse_args().candidates))


if __name__ == "__main__":
    main()
