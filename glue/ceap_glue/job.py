"""The thin ``main()`` of the HeavyETL Glue job: arguments, session, I/O; the rules live in
:mod:`ceap_glue.transforms`, the hand-off format in :mod:`ceap_glue.parts`.

``awsglue`` is imported only inside :func:`open_session`, so this module imports (and the job
runs) with plain PySpark.
"""

from __future__ import annotations

import argparse
import logging
import posixpath
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import StructType

from ceap_glue import parts
from ceap_glue import transforms as tf
from ceap_glue.errors import ArgumentError, InputError, JobError, OutputError
from ceap_glue.storage import (
    LocalDirStore,
    NativeS3Store,
    ObjectStore,
    S3Location,
    StagedS3Store,
)

LOG = logging.getLogger("ceap_glue.job")

#: Arguments the Step Functions task passes (docs/design.md section 6); Glue adds --JOB_NAME.
REQUIRED_ARGUMENTS: tuple[str, ...] = (
    "--execution-id",
    "--input-bucket",
    "--input-key",
    "--output-bucket",
    "--output-key",
    "--current-stage",
    "--previous-stage",
)
OPTIONAL_ARGUMENTS: tuple[str, ...] = (
    "--JOB_NAME",
    "--reference-time",
    "--TempDir",
    "--storage-root",
    "--part-size",
)
DEFAULT_JOB_NAME = "ceap-heavy-etl-local"


@dataclass(frozen=True)
class JobArguments:
    """The resolved arguments of one run."""

    job_name: str
    execution_id: str
    input: S3Location
    output: S3Location
    current_stage: str
    previous_stage: str
    reference_time: datetime
    temp_dir: str | None = None
    storage_root: Path | None = None
    part_size: int = parts.DEFAULT_PART_SIZE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print usage and exit; one line naming the argument is what a Glue
        # error log and a Step Functions Cause can show.
        raise ArgumentError(message)


def _reference_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 timestamp: {text!r}") from None
    return tf.as_utc(moment)


def _part_size(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected an integer > 0, got {text!r}")
    return value


def _join_values(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    # "--name value" -> "--name=value" for our names, so a value that starts with "-" (an
    # execution name may) is not mistaken for an option.
    joined: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in names and i + 1 < len(argv):
            joined.append(f"{token}={argv[i + 1]}")
            i += 2
        else:
            joined.append(token)
            i += 1
    return joined


def parse_arguments(argv: Sequence[str], now: datetime) -> JobArguments:
    """Resolve the job arguments, ignoring the ones Glue adds that the job does not use.

    Parameters
    ----------
    argv
        Arguments without the program name, as Glue passes them (``--name value`` pairs).
    now
        Reference time when ``--reference-time`` is not given (the job's start).

    Raises
    ------
    ArgumentError
        A required argument is missing or empty, or a value is malformed; the message names it.
    """
    parser = _Parser(prog="heavy_etl", allow_abbrev=False, add_help=False)
    for name in REQUIRED_ARGUMENTS:
        parser.add_argument(name, required=True)
    parser.add_argument("--JOB_NAME", default=DEFAULT_JOB_NAME)
    parser.add_argument("--reference-time", type=_reference_time, default=None)
    parser.add_argument("--TempDir", default=None)
    parser.add_argument("--storage-root", type=Path, default=None)
    parser.add_argument("--part-size", type=_part_size, default=parts.DEFAULT_PART_SIZE)
    known, unknown = parser.parse_known_args(_join_values(argv, (*REQUIRED_ARGUMENTS, *OPTIONAL_ARGUMENTS)))
    if unknown:
        LOG.debug("ignoring arguments the job does not use: %s", unknown)

    values = vars(known)
    for name in REQUIRED_ARGUMENTS:
        if not values[_dest(name)].strip():
            raise ArgumentError(f"argument {name}: must not be empty")
    for name in ("--input-bucket", "--output-bucket"):
        bucket = values[_dest(name)]
        if "/" in bucket or bucket != bucket.strip():
            raise ArgumentError(f"argument {name}: expected a bucket name, got {bucket!r}")
    for name in ("--input-key", "--output-key"):
        key = values[_dest(name)]
        if key.startswith("/") or key.endswith("/"):
            raise ArgumentError(f"argument {name}: expected an object key, got {key!r}")
    source = S3Location(known.input_bucket, known.input_key)
    target = S3Location(known.output_bucket, known.output_key)
    if source == target:
        raise ArgumentError(f"argument --output-key: {target.uri} is also the input; the job would overwrite it")
    if source.bucket == target.bucket and posixpath.dirname(source.key) == posixpath.dirname(target.key):
        # The output's parts/ and parts.json would replace the input's while a retry still needs them.
        raise ArgumentError(
            f"argument --output-key: {target.uri} is in the input's directory; its parts would overwrite the input's"
        )
    if known.storage_root is not None and not known.storage_root.is_dir():
        raise ArgumentError(f"argument --storage-root: {known.storage_root} is not a directory")
    return JobArguments(
        job_name=known.JOB_NAME,
        execution_id=known.execution_id,
        input=source,
        output=target,
        current_stage=known.current_stage,
        previous_stage=known.previous_stage,
        reference_time=known.reference_time or tf.as_utc(now),
        temp_dir=known.TempDir,
        storage_root=known.storage_root,
        part_size=known.part_size,
    )


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


@dataclass
class JobSession:
    """The Spark session and, on Glue, the ``awsglue.job.Job`` to commit."""

    spark: SparkSession
    glue_job: Any = None

    @property
    def on_glue(self) -> bool:
        """Whether ``awsglue`` was importable, i.e. the job runs on Glue."""
        return self.glue_job is not None

    def commit(self) -> None:
        """Commit the Glue job run (bookmarks); nothing to do on plain Spark."""
        if self.glue_job is not None:
            self.glue_job.commit()


def open_session(args: JobArguments) -> JobSession:
    """A GlueContext's session when ``awsglue`` is importable, else a plain (or the active) one."""
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
    except ImportError:
        session = JobSession(SparkSession.builder.appName(args.job_name).getOrCreate())
    else:
        from pyspark.context import SparkContext

        glue_context = GlueContext(SparkContext.getOrCreate())
        glue_job = Job(glue_context)
        glue_job.init(args.job_name, {"JOB_NAME": args.job_name})
        session = JobSession(glue_context.spark_session, glue_job)
    # Times without an offset (a bare date) are UTC in this system (docs/data.md).
    session.spark.conf.set("spark.sql.session.timeZone", "UTC")
    return session


def open_store(args: JobArguments, on_glue: bool) -> ObjectStore:
    """The storage seam for this run (see :mod:`ceap_glue.storage`)."""
    if args.storage_root is not None:
        return LocalDirStore(args.storage_root)
    import boto3  # here, not at import time: the transforms' tests need no AWS SDK set-up

    s3 = boto3.client("s3")
    if on_glue:
        return NativeS3Store(s3, args.temp_dir or f"s3://{args.output.bucket}/glue-temp/")
    return StagedS3Store(s3)


def read_json(spark: SparkSession, path: str, schema: StructType) -> DataFrame:
    """Read the one JSON document at ``path`` with ``schema``, marking it corrupt rather than failing."""
    return (
        spark.read.schema(schema)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", tf.CORRUPT_RECORD)
        .json(path)
    )


def read_parts(spark: SparkSession, store: ObjectStore, bucket: str, refs: Sequence[parts.PartRef]) -> DataFrame:
    """The candidates of a manifest's parts (columns ``position``, ``raw``) in one Spark read.

    Each part file is one row (``wholetext``), so a line's index in its part is known whatever
    way Spark groups the files into tasks; the row's file path says which part it is.

    Raises
    ------
    InputError
        A part does not exist or cannot be read (the first one in manifest order, by its
        ``s3://`` path), or Spark's listing of the parts is not one file per part; nothing is read.
    """
    locations = [S3Location(bucket, ref.key) for ref in refs]
    paths = store.readable_paths(locations)
    if not paths:
        return spark.createDataFrame([], "position long, raw string")
    files = spark.read.text(paths, wholetext=True)
    listed = files.inputFiles()
    if len(listed) != len(paths):
        raise InputError(f"reading the {len(paths)} input parts, Spark listed {len(listed)} files: {listed[:3]}")
    part_of_file = spark.createDataFrame(
        [(tf.file_key(path), number) for number, path in enumerate(paths)], "file string, part int"
    )
    return tf.explode_part_lines(files, part_of_file)


def check_part_counts(bucket: str, refs: Sequence[parts.PartRef], found: Mapping[int, int]) -> None:
    """Compare the candidates read from each part (``part index -> count``) with the manifest.

    Raises
    ------
    InputError
        A part holds another number of candidates than the manifest lists for it (the first
        such part, by its ``s3://`` path): the hand-off lost or gained candidates.
    """
    for number, ref in enumerate(refs):
        read = found.get(number, 0)
        if read != ref.count:
            where = S3Location(bucket, ref.key).uri
            raise InputError(f"input part {where} holds {read} candidates, the manifest lists {ref.count}")


@contextmanager
def transformed(
    candidates: DataFrame, reference_time: datetime, partitions: int | None
) -> Iterator[tuple[DataFrame, Row]]:
    """Classify the candidates and yield them, cached, with the row of ``count_statuses``.

    The classified candidates stay cached while the block runs (write inside it): they are
    counted and written without parsing the JSON and shuffling for the window a second time.

    Parameters
    ----------
    candidates
        Columns ``position`` and ``raw``: ``transforms.explode_candidates`` or :func:`read_parts`.
    reference_time
        "Now" of the rules.
    partitions
        Partitions to spread the candidates over (see ``transforms.classify_candidates``).
    """
    classified = tf.classify_candidates(candidates, reference_time, partitions).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = tf.count_statuses(classified).first()
        assert counts is not None  # an aggregation without grouping always yields one row
        yield classified, counts
    finally:
        classified.unpersist()


#: Spark's output directory of part ``i`` is ``<scratch>/part=<i>/`` (``partitionBy("part")``).
PART_COLUMN = "part"
#: Content type of a JSON Lines part.
PART_CONTENT_TYPE = "application/x-ndjson"


def write_sharded(
    spark: SparkSession,
    store: ObjectStore,
    classified: DataFrame,
    args: JobArguments,
    header: tuple[str, str],
    metrics: tf.HeavyEtlMetrics,
) -> dict[str, Any]:
    """Write the kept candidates as parts, then ``parts.json``, then the manifest; return the manifest.

    The manifest comes last so that a reader that finds it finds complete parts; a failure
    before it leaves no manifest (parts written so far are overwritten by the retry).

    Parameters
    ----------
    classified
        The cached output of ``transforms.classify_candidates``.
    header
        ``programId`` and ``marketplace`` of the input.
    metrics
        The stage metrics, written into the manifest.
    """
    buckets = [(int(row["bucket"]), int(row["count"])) for row in tf.kept_per_bucket(classified).collect()]
    kept = sum(count for _, count in buckets)
    if kept != metrics.output_count:
        raise OutputError(f"ranked {kept} kept candidates, counted {metrics.output_count}")
    counts = parts.part_counts(kept, args.part_size)
    targets = [S3Location(args.output.bucket, parts.part_key(args.output.key, i)) for i in range(len(counts))]
    if kept:
        offsets = spark.createDataFrame(tf.bucket_offsets(buckets), "bucket long, offset long")
        lines = tf.sharded_lines(tf.candidate_documents(classified), offsets, args.part_size, len(counts))
        scratch = store.scratch_path()
        (
            lines.write.partitionBy(PART_COLUMN)
            .option("compression", "none")
            # A cluster-wide spark.sql.files.maxRecordsPerFile would split a part over files.
            .option("maxRecordsPerFile", 0)
            .text(scratch)
        )
        store.publish(
            scratch,
            {f"{PART_COLUMN}={i}": target for i, target in enumerate(targets)},
            content_type=PART_CONTENT_TYPE,
        )
    else:
        store.put_bytes(targets[0], b"", content_type=PART_CONTENT_TYPE)
    refs = [parts.PartRef(target.key, count) for target, count in zip(targets, counts, strict=True)]
    program_id, marketplace = header
    document = parts.manifest(args.current_stage, refs, metrics.to_json_dict(), program_id, marketplace)
    items = S3Location(args.output.bucket, parts.parts_list_key(args.output.key))
    store.put_bytes(items, parts.json_bytes(parts.parts_items(refs)))
    store.put_bytes(args.output, parts.json_bytes(document))
    return document


class _Phases:
    """Wall time of the job's phases, logged and (for the benchmark) recorded into a dict."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self._into = into
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        elapsed, self._last = now - self._last, now
        LOG.info("phase %r took %.1f s", name, elapsed)
        if self._into is not None:
            self._into[name] = elapsed


#: Names of the phases :func:`run` records, in order.
PHASES: tuple[str, ...] = ("check input", "read, rules and counts", "write parts and manifest")


def run(
    spark: SparkSession, store: ObjectStore, args: JobArguments, phases: dict[str, float] | None = None
) -> tf.HeavyEtlMetrics:
    """Read the previous stage's envelope or manifest and parts, apply the rules, write parts and manifest.

    Parameters
    ----------
    phases
        When given, receives the wall time in seconds of each of :data:`PHASES`.

    Raises
    ------
    InputError
        The input object or a part is missing, the input is neither a stage envelope nor a
        manifest, a part's line is not a JSON object, or a part holds another number of
        candidates than the manifest lists; no output object has been written.
    """
    clock = _Phases(phases)
    path = store.readable_path(args.input)
    summary = tf.summarise_envelope(read_json(spark, path, tf.ENVELOPE_PROBE_SCHEMA)).first()
    problem = tf.envelope_problem(summary)
    if problem is not None or summary is None:
        raise InputError(f"input object {args.input.uri} is not a stage envelope or manifest: {problem}")

    partitions = spark.sparkContext.defaultParallelism
    refs: list[parts.PartRef] | None = None
    if summary["hasParts"]:
        try:
            refs = parts.parse_part_list(summary["parts"])
        except ValueError as error:
            raise InputError(f"input object {args.input.uri} is not a valid stage manifest: {error}") from None
        candidates = read_parts(spark, store, args.input.bucket, refs)
    else:
        candidates = tf.explode_candidates(read_json(spark, path, tf.ENVELOPE_SCHEMA), partitions)
    clock.done(PHASES[0])
    with transformed(candidates, args.reference_time, partitions) as (classified, counts):
        if refs is not None:
            malformed = counts["firstMalformedPosition"]
            if malformed is not None:
                part, line = divmod(int(malformed), 1 << tf.PART_SHIFT)
                where = S3Location(args.input.bucket, refs[part].key).uri
                raise InputError(f"input part {where} line {line + 1} is not a JSON object")
            found = {int(row["part"]): int(row["count"]) for row in tf.count_part_lines(classified).collect()}
            check_part_counts(args.input.bucket, refs, found)
        metrics = tf.HeavyEtlMetrics.from_counts(counts, args.reference_time)
        clock.done(PHASES[1])
        document = write_sharded(
            spark, store, classified, args, (summary["programId"], summary["marketplace"]), metrics
        )
    clock.done(PHASES[2])
    LOG.info("wrote %d candidates in %d parts", document["count"], len(document["parts"]))
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the Glue job (``heavy_etl.py``) and of local runs.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Raises
    ------
    SystemExit
        With status 2 for bad arguments and 1 for a missing or malformed input, after writing one
        line naming the argument or the ``s3://`` path to stderr. No output object is written.
    """
    started = datetime.now(UTC)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv, started)
        LOG.info(
            "executionId=%s stage=%s previousStage=%s input=%s output=%s referenceTime=%s",
            args.execution_id,
            args.current_stage,
            args.previous_stage,
            args.input.uri,
            args.output.uri,
            tf.isoformat_utc(args.reference_time),
        )
        session = open_session(args)
        store = open_store(args, session.on_glue)
        try:
            metrics = run(session.spark, store, args)
        finally:
            store.close()
        session.commit()
    except JobError as error:
        sys.stderr.write(f"heavy_etl: error: {error}\n")
        raise SystemExit(error.exit_code) from None
    LOG.info(
        "executionId=%s stage=%s wrote %s metrics=%s",
        args.execution_id,
        args.current_stage,
        args.output.uri,
        metrics.to_json_dict(),
    )
