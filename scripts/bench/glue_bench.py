"""Benchmark of the HeavyETL Glue job on local Spark (figures, not assertions).

For each size (default 100,000 and 1,000,000 candidates: ~15 % duplicates, ~10 % expired,
~0.1 % invalid) it writes the Filter stage's sharded output, a manifest of JSON Lines parts of
10,000 candidates (the hand-off the job reads in the batch workflow), runs the job's own
``run()`` on it in ``local[2]`` through the ``LocalDirStore`` (file:// paths, no S3), checks the
parts it wrote (order, counts, parts.json, manifest), and prints one table with a column per size:
wall time per phase of ``run()``, candidates per second, peak memory of the driver JVM and of
Python, the number of output parts, and what a run would take on Glue.

Each size runs in a fresh Python process (and so a fresh driver JVM): the memory peaks of one size
do not carry over to the next.

Usage (from the repository root, in the glue environment, e.g. ``tox -e bench-glue``)::

    python scripts/bench/glue_bench.py [--sizes 100000 1000000] [--part-size 10000]
                                       [--input-part-size 10000] [--driver-memory 4g]

Needs Java 17 and the packages of glue/requirements-dev.txt (pyspark, psutil).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
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
from ceap_glue import parts as glue_parts  # noqa: E402
from ceap_glue.storage import LocalDirStore  # noqa: E402

REFERENCE_TIME = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
BUCKET = "ceap-workflow-batch-bench"
EXECUTION_ID = "bench-0001"
INPUT_KEY = f"executions/{EXECUTION_ID}/Filter/output.json"
OUTPUT_KEY = f"executions/{EXECUTION_ID}/HeavyETL/output.json"
DEFAULT_SIZES = (100_000, 1_000_000)
MB = 1e6

# --- Glue figures used for the estimate (AWS Glue 5.0 documentation and price list) ----------
GLUE_WORKER = "G.1X"
GLUE_WORKERS = 2  # the workflow stack's job: one driver, one executor
GLUE_EXECUTOR_CORES = 4  # G.1X: 4 vCPU, 16 GB; Glue runs one 4-core executor per worker
GLUE_MIN_BILLED_SECONDS = 60  # Glue 2.0 and later bill per second with a 1-minute minimum
GLUE_STARTUP_SECONDS = 15  # typical Glue 5.0 start-up before the script runs, not billed
GLUE_PRICE_PER_DPU_HOUR = 0.44  # us-east-1, 1 DPU per G.1X worker
S3_TASK_MB_PER_SECOND = 50.0  # one task's S3 GET stream
S3_REQUEST_SECONDS = 0.05  # one HEAD / server-side copy of a ~6 MB part / PUT
S3_CONCURRENCY = 8  # the stores' concurrent requests (ceap_glue.storage.S3_CONCURRENCY)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def generate_manifest(root: Path, count: int, part_size: int, seed: int = 20260201) -> float:
    """Write the Filter stage's parts and manifest for ``count`` candidates; returns the MB of parts.

    Every candidate starts with ``"seq": <its index>``, so the output's order can be checked.
    """
    rng = random.Random(seed)
    key_space = 3 * count  # N draws from 3N keys: about 15 % of the candidates repeat a key
    refs: list[dict[str, Any]] = []
    total_bytes = 0
    for index, start in enumerate(range(0, max(count, 1), part_size)):
        key = f"executions/{EXECUTION_ID}/Filter/parts/part-{index:05d}.jsonl"
        path = root / BUCKET / key
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for seq in range(start, min(start + part_size, count)):
            customer = rng.randrange(key_space)
            event = REFERENCE_TIME - timedelta(seconds=rng.randrange(60 * 86_400))
            expires = REFERENCE_TIME + timedelta(days=30 if rng.random() >= 0.10 else -1)
            cand: dict[str, Any] = {
                "seq": seq,
                "customerId": f"C{customer:09d}",
                "context": [{"type": "marketplace", "id": "US"}, {"type": "program", "id": "retail"}],
                "subject": {"type": "product", "id": f"P{customer % 100_000:06d}", "metadata": {"category": "kitchen"}},
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
            lines.append(json.dumps(cand, separators=(",", ":")))
        body = "".join(line + "\n" for line in lines).encode()
        path.write_bytes(body)
        total_bytes += len(body)
        refs.append({"key": key, "count": len(lines)})
    manifest = {
        "programId": "retail",
        "marketplace": "US",
        "stage": "Filter",
        "parts": refs,
        "count": count,
        "metrics": {"inputCount": count, "passedCount": count},
    }
    (root / BUCKET / INPUT_KEY).write_text(json.dumps(manifest), encoding="utf-8")
    return total_bytes / MB


@dataclass
class MemorySampler:
    """Peak RSS of this Python process, the driver JVM and the Python workers, and JVM heap used."""

    interval: float = 0.2
    peaks: dict[str, float] = field(
        default_factory=lambda: {"python_rss": 0.0, "jvm_rss": 0.0, "jvm_heap_used": 0.0, "workers_rss": 0.0}
    )
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

    def _sample(self) -> None:
        me = psutil.Process()
        self.peaks["python_rss"] = max(self.peaks["python_rss"], me.memory_info().rss)
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

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()


@contextmanager
def timed(label: str, times: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    times[label] = time.perf_counter() - start


_SEQ = re.compile(rb'^\{"seq":(\d+),')


def verify_output(root: Path, part_size: int, expected_count: int) -> dict[str, Any]:
    """Check the job's parts against its manifest and parts.json; the figures of the next stage's read.

    Raises ``SystemExit`` when the output breaks the contract (a benchmark of wrong output is no
    benchmark): a part above the part size, counts that disagree, candidates out of input order.
    """
    directory = root / BUCKET
    manifest = json.loads((directory / OUTPUT_KEY).read_text(encoding="utf-8"))
    items = json.loads((directory / glue_parts.parts_list_key(OUTPUT_KEY)).read_text(encoding="utf-8"))
    problems = []
    if items != [{**ref, "index": i} for i, ref in enumerate(manifest["parts"])]:
        problems.append("parts.json does not list the manifest's parts")
    last_seq, total, largest = -1, 0, (0, "")
    for index, ref in enumerate(manifest["parts"]):
        if ref["key"] != glue_parts.part_key(OUTPUT_KEY, index):
            problems.append(f"part {index} is at {ref['key']}")
        lines = (directory / ref["key"]).read_bytes().splitlines()
        if len(lines) != ref["count"] or len(lines) > part_size or (not lines and manifest["count"]):
            problems.append(f"part {index} holds {len(lines)} lines, lists {ref['count']}")
        for line in lines:
            found = _SEQ.match(line)
            seq = int(found.group(1)) if found else -1
            if seq <= last_seq:
                problems.append(f"part {index}: candidate seq {seq} after {last_seq}")
                break
            last_seq = seq
        total += len(lines)
        largest = max(largest, (len(lines), ref["key"]))
    if total != manifest["count"] or total != expected_count:
        problems.append(f"parts hold {total} candidates, manifest {manifest['count']}, metrics {expected_count}")
    if problems:
        raise SystemExit("output breaks the parts contract: " + "; ".join(problems[:5]))

    # What a Score part child does with one part: read it and parse it line by line.
    before = psutil.Process().memory_info().rss
    start = time.perf_counter()
    body = (directory / largest[1]).read_bytes()
    candidates = [json.loads(line) for line in body.splitlines() if line.strip()]
    read_s = time.perf_counter() - start
    grown = psutil.Process().memory_info().rss - before
    del candidates
    return {
        "output_parts": len(manifest["parts"]),
        "largest_part_mb": len(body) / MB,
        "output_mb": sum((directory / ref["key"]).stat().st_size for ref in manifest["parts"]) / MB,
        "next_stage_part_read_s": read_s,
        "next_stage_part_rss_mb": max(grown, 0) / MB,
    }


def measure(size: int, part_size: int, input_part_size: int, driver_memory: str, workdir: Path | None) -> dict:
    """Run the job once on ``size`` candidates; its figures as a JSON-able dict."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    times: dict[str, float] = {}
    result: dict[str, Any] = {"size": size}
    with tempfile.TemporaryDirectory(prefix="ceap-glue-bench-", dir=workdir) as directory:
        root = Path(directory)
        with timed("generate input", times):
            result["input_mb"] = generate_manifest(root, size, input_part_size)
        result["input_parts"] = -(-size // input_part_size) or 1

        with timed("start Spark", times):
            spark = (
                SparkSession.builder.master("local[2]")
                .appName("ceap-glue-bench")
                .config("spark.driver.memory", driver_memory)
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
                # As on Glue 5.0: adaptive execution on, default shuffle partitions.
                .config("spark.sql.adaptive.enabled", "true")
                .getOrCreate()
            )
            spark.sparkContext.setLogLevel("ERROR")
        runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()  # type: ignore[union-attr]
        result["jvm_heap_max_mb"] = runtime.maxMemory() / MB
        sampler = MemorySampler(heap_probe=lambda: float(runtime.totalMemory() - runtime.freeMemory()))

        args = job.parse_arguments(
            [
                *("--execution-id", EXECUTION_ID, "--current-stage", "HeavyETL", "--previous-stage", "Filter"),
                *("--input-bucket", BUCKET, "--input-key", INPUT_KEY, "--output-bucket", BUCKET),
                *("--output-key", OUTPUT_KEY, "--reference-time", _iso(REFERENCE_TIME)),
                *("--storage-root", str(root), "--part-size", str(part_size)),
            ],
            now=REFERENCE_TIME,
        )
        store = LocalDirStore(root)
        phases: dict[str, float] = {}
        sampler.start()
        try:
            with timed("run()", times):
                metrics = job.run(spark, store, args, phases)
        finally:
            sampler.stop()
            store.close()
        spark.stop()
        with timed("verify output", times):
            result.update(verify_output(root, part_size, metrics.output_count))
    result.update(
        times=times,
        phases=phases,
        peaks={name: value / MB for name, value in sampler.peaks.items()},
        output_count=metrics.output_count,
        dropped=dict(metrics.dropped),
    )
    return result


# --- the table ------------------------------------------------------------------------------


def glue_estimate(result: dict[str, Any]) -> tuple[float, float]:
    """Seconds of a run on ``GLUE_WORKERS`` G.1X workers, and its cost in USD (see glue/README.md)."""
    spark_s = result["phases"]["read, rules and counts"] + result["phases"]["write parts and manifest"]
    # The Spark work spreads over 4 executor cores instead of 2, at this machine's per-core speed.
    compute_s = spark_s * 2 / GLUE_EXECUTOR_CORES
    # S3 instead of local files: HEAD each input part, tasks stream the parts from S3, the output
    # parts are copied server-side and the scratch objects deleted; the manifests are two PUTs.
    requests = result["input_parts"] + 2 * result["output_parts"] + 4
    s3_s = requests * S3_REQUEST_SECONDS / S3_CONCURRENCY
    s3_s += (result["input_mb"] + result["output_mb"]) / (S3_TASK_MB_PER_SECOND * GLUE_EXECUTOR_CORES)
    run_s = result["phases"]["check input"] + compute_s + s3_s
    billed = max(run_s, GLUE_MIN_BILLED_SECONDS)
    return run_s, GLUE_WORKERS * billed / 3600 * GLUE_PRICE_PER_DPU_HOUR


def table(results: list[dict[str, Any]], part_size: int, input_part_size: int) -> str:
    """The figures of every size side by side."""
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        (f"input parts (of {input_part_size:,})", lambda r: f"{r['input_parts']:,}"),
        ("input MB", lambda r: f"{r['input_mb']:,.0f}"),
        ("candidates out (kept)", lambda r: f"{r['output_count']:,}"),
        ("dropped INVALID/EXPIRED/DUPLICATE", lambda r: "/".join(f"{v:,}" for v in r["dropped"].values())),
        (f"output parts (of <= {part_size:,})", lambda r: f"{r['output_parts']:,}"),
        ("output MB", lambda r: f"{r['output_mb']:,.0f}"),
        *((f"run(): {name} s", lambda r, name=name: f"{r['phases'][name]:,.1f}") for name in job.PHASES),
        ("run() total s", lambda r: f"{r['times']['run()']:,.1f}"),
        ("candidates/s (in, run() total)", lambda r: f"{r['size'] / r['times']['run()']:,.0f}"),
        ("peak driver JVM RSS MB", lambda r: f"{r['peaks']['jvm_rss']:,.0f}"),
        (
            "peak JVM heap used MB (of max)",
            lambda r: f"{r['peaks']['jvm_heap_used']:,.0f} ({r['jvm_heap_max_mb']:,.0f})",
        ),
        ("peak Python driver RSS MB", lambda r: f"{r['peaks']['python_rss']:,.0f}"),
        ("peak Python workers RSS MB", lambda r: f"{r['peaks']['workers_rss']:,.0f}"),
        ("not in run(): generate input s", lambda r: f"{r['times']['generate input']:,.1f}"),
        ("not in run(): start Spark s", lambda r: f"{r['times']['start Spark']:,.1f}"),
        ("next stage: parse one part s (MB RSS)", lambda r: _part_read(r)),
        (
            f"Glue {GLUE_WORKERS}x{GLUE_WORKER} estimate s (+ start)",
            lambda r: f"~{glue_estimate(r)[0]:,.0f} (+{GLUE_STARTUP_SECONDS})",
        ),
        ("Glue cost per run USD", lambda r: f"~{glue_estimate(r)[1]:.3f}"),
    ]
    label_width = max(len(label) for label, _ in rows) + 2
    widths = [max(14, *(len(render(r)) + 2 for _, render in rows)) for r in results]
    lines = ["".ljust(label_width) + "".join(f"{r['size']:,}".rjust(w) for r, w in zip(results, widths, strict=True))]
    for label, render in rows:
        lines.append(
            label.ljust(label_width) + "".join(render(r).rjust(w) for r, w in zip(results, widths, strict=True))
        )
    return "\n".join(lines)


def _part_read(result: dict[str, Any]) -> str:
    return f"{result['next_stage_part_read_s']:.2f} ({result['next_stage_part_rss_mb']:,.0f})"


def _spark_version() -> str:
    import pyspark

    return pyspark.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", "--candidates", nargs="+", type=int, default=list(DEFAULT_SIZES), help="candidates per run"
    )
    parser.add_argument("--part-size", type=int, default=glue_parts.DEFAULT_PART_SIZE, help="the job's --part-size")
    parser.add_argument("--input-part-size", type=int, default=10_000, help="candidates per input part")
    parser.add_argument("--driver-memory", default="4g", help="local mode: the executor lives in the driver JVM")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the generated parts")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # a child run: one size
    parser.add_argument("--result-file", type=Path, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.one is not None:
        figures = measure(
            options.one, options.part_size, options.input_part_size, options.driver_memory, options.workdir
        )
        options.result_file.write_text(json.dumps(figures), encoding="utf-8")
        return

    results = []
    load_before = os.getloadavg()
    started = time.perf_counter()
    for size in options.sizes:
        print(f"running {size:,} candidates ...", file=sys.stderr, flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as result_file:
            command = [
                sys.executable,
                __file__,
                *("--one", str(size), "--result-file", result_file.name),
                *("--part-size", str(options.part_size), "--input-part-size", str(options.input_part_size)),
                *("--driver-memory", options.driver_memory),
                *(("--workdir", str(options.workdir)) if options.workdir else ()),
            ]
            subprocess.run(command, check=True)
            results.append(json.loads(Path(result_file.name).read_text(encoding="utf-8")))
    load_after = os.getloadavg()

    print(
        f"\nHeavyETL benchmark, {datetime.now(UTC):%Y-%m-%d}, local[2] on {os.cpu_count()} cores, "
        f"pyspark {_spark_version()}, --driver-memory {options.driver_memory}, AQE on; input: a manifest "
        f"of JSON Lines parts; {time.perf_counter() - started:,.0f} s in all"
    )
    print(
        f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after: "
        "on a shared machine the figures include other processes' load\n"
    )
    print(table(results, options.part_size, options.input_part_size))
    print(
        f"\nGlue estimate: {GLUE_WORKERS} {GLUE_WORKER} workers = 1 driver + 1 executor of {GLUE_EXECUTOR_CORES} "
        f"cores at this machine's per-core speed (the Spark phases x 2/{GLUE_EXECUTOR_CORES}), plus S3: "
        f"{S3_REQUEST_SECONDS * 1000:.0f} ms a request, {S3_CONCURRENCY} at a time, "
        f"{S3_TASK_MB_PER_SECOND:.0f} MB/s per task; billed per second, {GLUE_MIN_BILLED_SECONDS} s minimum, "
        f"${GLUE_PRICE_PER_DPU_HOUR}/DPU-hour"
    )


if __name__ == "__main__":
    main()
