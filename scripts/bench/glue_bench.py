"""Benchmark of the HeavyETL Glue job on local Spark (figures, not assertions).

Generates a Filter-stage envelope of N candidates (default 1,000,000: ~15 % duplicates, ~10 %
expired, ~0.1 % invalid), runs the job's own ``run()`` on it in ``local[2]`` through the
``LocalDirStore`` (file:// paths, no S3), and prints wall time per phase, peak memory of the
driver (JVM and Python) and what the same input would need on Glue.

Usage (from the repository root, in the glue environment)::

    python scripts/bench/glue_bench.py [--candidates 1000000] [--driver-memory 6g]

Needs Java 17 and the packages of glue/requirements-dev.txt (pyspark, psutil).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "glue"))

from ceap_glue import job  # noqa: E402 (after the sys.path entry for the glue package)
from ceap_glue import transforms as tf  # noqa: E402
from ceap_glue.storage import LocalDirStore  # noqa: E402

REFERENCE_TIME = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
BUCKET = "ceap-workflow-batch-bench"
EXECUTION_ID = "bench-0001"
INPUT_KEY = f"executions/{EXECUTION_ID}/Filter/output.json"
OUTPUT_KEY = f"executions/{EXECUTION_ID}/HeavyETL/output.json"

# --- Glue figures used for the extrapolation (AWS Glue 5.0 documentation and price list) ------
GLUE_WORKER = "G.1X"
GLUE_WORKER_VCPUS = 4
GLUE_WORKER_DPU = 1
GLUE_EXECUTOR_HEAP_GB = 10.0  # G.1X: 16 GB per worker, spark.executor.memory=10g
GLUE_MIN_WORKERS = 2  # one driver, one executor
GLUE_MIN_BILLED_SECONDS = 60  # Glue 2.0 and later bill per second with a 1-minute minimum
GLUE_STARTUP_SECONDS = 15  # typical Glue 5.0 start, not billed
GLUE_PRICE_PER_DPU_HOUR = 0.44  # us-east-1
S3_MB_PER_SECOND = 100.0  # one stream; Spark reads the one JSON object in one task


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def generate_envelope(path: Path, count: int, seed: int = 20260201) -> None:
    """Write a Filter-stage envelope of ``count`` candidates to ``path``, streaming."""
    rng = random.Random(seed)
    key_space = 3 * count  # N draws from 3N keys: about 15 % of the candidates repeat a key
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{{"programId":"retail","marketplace":"US","metrics":{{"inputCount":{count}}},"candidates":[')
        for i in range(count):
            key = rng.randrange(key_space)
            event = REFERENCE_TIME - timedelta(seconds=rng.randrange(60 * 86_400))
            expires = REFERENCE_TIME + timedelta(days=30 if rng.random() >= 0.10 else -1)
            cand: dict[str, Any] = {
                "customerId": f"C{key:09d}",
                "context": [{"type": "marketplace", "id": "US"}, {"type": "program", "id": "retail"}],
                "subject": {"type": "product", "id": f"P{key % 100_000:06d}", "metadata": {"category": "kitchen"}},
                "attributes": {
                    "eventDate": _iso(event),
                    "deliveryDate": _iso(event + timedelta(days=2)),
                    "orderValue": round(rng.uniform(1, 800), 2),
                    "mediaEligible": rng.random() < 0.5,
                    "channelEligibility": {"email": True, "sms": rng.random() < 0.3, "push": rng.random() < 0.6},
                },
                "metadata": {
                    "createdAt": _iso(event),
                    "updatedAt": _iso(event),
                    "expiresAt": _iso(expires),
                    "version": 1,
                    "sourceConnectorId": "s3-jsonl",
                    "workflowExecutionId": EXECUTION_ID,
                },
            }
            if rng.random() < 0.001:
                del cand["metadata"]["expiresAt"]  # invalid
            if i:
                out.write(",")
            out.write(json.dumps(cand, separators=(",", ":")))
        out.write("]}")


@dataclass
class MemorySampler:
    """Samples RSS of this Python process, the driver JVM and the Python workers, and JVM heap."""

    interval: float = 0.2
    peaks: dict[str, float] = field(default_factory=lambda: {"jvm_rss": 0.0, "jvm_heap_used": 0.0, "workers_rss": 0.0})
    heap_probe: Callable[[], float] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _jvm(self) -> psutil.Process | None:
        for child in psutil.Process().children(recursive=True):
            try:
                if child.name() == "java":
                    return child
            except psutil.Error:
                continue
        return None

    def _loop(self) -> None:
        while not self._stop.is_set():
            jvm = self._jvm()
            if jvm is not None:
                try:
                    self.peaks["jvm_rss"] = max(self.peaks["jvm_rss"], jvm.memory_info().rss)
                    workers = sum(p.memory_info().rss for p in jvm.children(recursive=True))
                    self.peaks["workers_rss"] = max(self.peaks["workers_rss"], workers)
                except psutil.Error:
                    pass
            if self.heap_probe is not None:
                # Sampling must never stop the benchmark (py4j may refuse while the JVM is busy).
                with contextlib.suppress(Exception):
                    self.peaks["jvm_heap_used"] = max(self.peaks["jvm_heap_used"], self.heap_probe())
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@contextmanager
def timed(label: str, times: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    times[label] = time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--driver-memory", default="6g", help="local mode: the executor lives in the driver JVM")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the generated envelope")
    options = parser.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ceap-glue-bench-", dir=options.workdir) as directory:
        root = Path(directory)
        source = root / BUCKET / INPUT_KEY
        source.parent.mkdir(parents=True)
        with timed("generate input", times):
            generate_envelope(source, options.candidates)
        input_mb = source.stat().st_size / 1e6

        with timed("start Spark", times):
            spark = (
                SparkSession.builder.master("local[2]")
                .appName("ceap-glue-bench")
                .config("spark.driver.memory", options.driver_memory)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
                # As on Glue 5.0: adaptive execution on, default shuffle partitions.
                .config("spark.sql.adaptive.enabled", "true")
                .getOrCreate()
            )
            spark.sparkContext.setLogLevel("ERROR")
        jvm_runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()  # type: ignore[union-attr]
        max_heap = jvm_runtime.maxMemory()
        sampler = MemorySampler(heap_probe=lambda: float(jvm_runtime.totalMemory() - jvm_runtime.freeMemory()))
        sampler.start()

        uri = "file://" + str(source)
        with timed("serial: validation pass (1 task)", times):
            summary = tf.summarise_envelope(job.read_json(spark, uri, tf.ENVELOPE_PROBE_SCHEMA)).first()
        assert tf.envelope_problem(summary) is None
        with timed("serial: candidates parse (1 task)", times):
            frame = job.read_json(spark, uri, tf.ENVELOPE_SCHEMA)
            parsed = frame.selectExpr("size(candidates) AS n").first()
        assert parsed is not None and parsed["n"] == options.candidates

        args = job.parse_arguments(
            [
                *("--execution-id", EXECUTION_ID, "--current-stage", "HeavyETL", "--previous-stage", "Filter"),
                *("--input-bucket", BUCKET, "--input-key", INPUT_KEY, "--output-bucket", BUCKET),
                *("--output-key", OUTPUT_KEY, "--reference-time", _iso(REFERENCE_TIME)),
                *("--storage-root", str(root)),
            ],
            now=REFERENCE_TIME,
        )
        store = LocalDirStore(root)
        try:
            with timed("job run() end to end", times):
                metrics = job.run(spark, store, args)
        finally:
            store.close()
        sampler.stop()
        python_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        output = root / BUCKET / OUTPUT_KEY
        output_mb = output.stat().st_size / 1e6
        reader_start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with timed("plain reader: json.loads of the output", times):
            document = json.loads(output.read_text(encoding="utf-8"))
        assert len(document["candidates"]) == metrics.output_count
        del document
        reader_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - reader_start_mb
        spark.stop()

    print(f"\n  json.loads of the output raised this Python process's peak RSS by {reader_mb:,.0f} MB")
    report(options.candidates, input_mb, output_mb, times, metrics, sampler.peaks, max_heap, python_peak_mb)


def report(
    count: int,
    input_mb: float,
    output_mb: float,
    times: dict[str, float],
    metrics: tf.HeavyEtlMetrics,
    peaks: dict[str, float],
    max_heap: float,
    python_peak_mb: float,
) -> None:
    run_s = times["job run() end to end"]
    serial_s = min(times["serial: validation pass (1 task)"] + times["serial: candidates parse (1 task)"], run_s)
    mb = 1e6
    heap_used, heap_max = peaks["jvm_heap_used"] / mb, max_heap / mb
    print(f"\nHeavyETL benchmark, local[2] on {os.cpu_count()} cores, pyspark {_spark_version()}")
    print(f"  candidates in / out     {count:,} / {metrics.output_count:,}  dropped {dict(metrics.dropped)}")
    print(f"  input / output object   {input_mb:,.0f} MB / {output_mb:,.0f} MB")
    for label, seconds in times.items():
        print(f"  {label:<45} {seconds:8.1f} s")
    print(f"  throughput of run()     {count / run_s:,.0f} candidates/s")
    jvm_rss = peaks["jvm_rss"] / mb
    print(f"  peak driver JVM RSS     {jvm_rss:,.0f} MB (heap used {heap_used:,.0f} of {heap_max:,.0f} MB)")
    print(f"  peak Python driver RSS  {python_peak_mb:,.0f} MB (before the plain-reader check)")
    print(f"  peak Python workers RSS {peaks['workers_rss'] / mb:,.0f} MB (pyspark daemon and workers)")

    # --- Glue extrapolation ---------------------------------------------------------------
    # run() reads the document twice in one task each (a light validation pass, then the
    # candidates), timed on their own above; the rest (rules, window, features) runs on every
    # core. The final single-partition write is serial too; it stays in the parallel share, which
    # makes the estimate for more workers optimistic by that much.
    parallel_s = run_s - serial_s
    heap_per_input_mb = heap_used / input_mb
    max_input_mb = GLUE_EXECUTOR_HEAP_GB * 1000 / max(heap_per_input_mb, 0.1)
    s3_s = 3 * input_mb / S3_MB_PER_SECOND  # read twice, write once (the copy is server-side)
    print(f"\n  serial share ~{serial_s:.0f} s (validation + candidates parse, 1 task each)")
    print(f"  parallel share ~{parallel_s:.0f} s on 2 cores")
    print(
        f"  heap used per MB of input ~{heap_per_input_mb:.1f} MB -> one {GLUE_WORKER} executor "
        f"({GLUE_EXECUTOR_HEAP_GB:.0f} GB heap) holds an input of up to ~{max_input_mb:,.0f} MB"
    )
    print(f"  Glue {GLUE_WORKER} estimate (S3 at {S3_MB_PER_SECOND:.0f} MB/s per stream adds ~{s3_s:.0f} s):")
    for workers in (GLUE_MIN_WORKERS, 3, 5):
        executor_cores = (workers - 1) * GLUE_WORKER_VCPUS
        estimate = serial_s + parallel_s * 2 / executor_cores + s3_s
        billed = max(estimate, GLUE_MIN_BILLED_SECONDS)
        dpu_hours = workers * GLUE_WORKER_DPU * billed / 3600
        print(
            f"    {workers} workers: ~{estimate:4.0f} s run (+~{GLUE_STARTUP_SECONDS} s start), "
            f"{dpu_hours:.3f} DPU-hours, ~${dpu_hours * GLUE_PRICE_PER_DPU_HOUR:.3f} per run"
        )


def _spark_version() -> str:
    import pyspark

    return pyspark.__version__


if __name__ == "__main__":
    main()
