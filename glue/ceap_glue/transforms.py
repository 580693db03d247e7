"""Pure DataFrame transformations of the HeavyETL stage.

Nothing here touches S3, arguments or ``awsglue``: every function takes DataFrames (and plain
values) and returns a DataFrame or plain data, so the rules run unchanged on a laptop, in CI and
on Glue. Only Spark 3.5 APIs are used (Glue 5.0 runs Spark 3.5; the tests run Spark 4.x).

Candidates stay JSON text from input to output. Spark's JSON reader hands a value read into a
``string`` field over as its JSON text (``get_json_object(line, "$")`` regenerates a part line's),
so no candidate field is ever coerced by schema inference (which would turn missing
fields into nulls and mixed types into strings). The rules read the few fields they need with
``from_json`` and a narrow all-string schema; the output is that text with a ``features`` member
added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F  # noqa: N812 (F and T: PySpark's conventional aliases)
from pyspark.sql import types as T  # noqa: N812

# --- status of a candidate after the rules ------------------------------------------------------
KEPT = "KEPT"
#: Rows that cannot be keyed or dated (no customerId / subject / parseable eventDate / expiresAt).
INVALID = "INVALID"
#: ``metadata.expiresAt`` before the reference time.
EXPIRED = "EXPIRED"
#: Same (customerId, subject.type, subject.id) as a candidate with a later eventDate.
DUPLICATE = "DUPLICATE"
#: Drop reasons, in the order the rules apply them (a row counts under the first that applies).
DROP_REASONS: tuple[str, ...] = (INVALID, EXPIRED, DUPLICATE)

# --- order-value buckets: (name, exclusive upper bound) in order; at or above the last: PREMIUM --
ORDER_VALUE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("LOW", 25.0),
    ("MEDIUM", 100.0),
    ("HIGH", 500.0),
)
PREMIUM_BUCKET = "PREMIUM"
#: Bucket of a candidate without a numeric ``attributes.orderValue``.
NO_ORDER_VALUE_BUCKET = "NONE"

_MICROS_PER_DAY = 86_400 * 1_000_000

CORRUPT_RECORD = "_corrupt_record"

#: A candidate read from parts has ``position = part index << PART_SHIFT | line index``: one long
#: that orders by part, then line, like the position in an envelope's list.
PART_SHIFT = 32
#: Kept candidates are ranked in buckets of ``position div RANK_BUCKET`` (see :func:`sharded_lines`).
RANK_BUCKET = 1 << 14
#: What :func:`file_key` strips: a URI scheme and the slashes after it (Spark writes ``file:/x`` or
#: ``file:///x`` for the same file, depending on the API).
_SCHEME = r"^[A-Za-z][A-Za-z0-9+.-]*:/*"

#: Schema the job reads the envelope with: each candidate as its JSON text.
ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("candidates", T.ArrayType(T.StringType())),
        T.StructField("programId", T.StringType()),
        T.StructField("marketplace", T.StringType()),
    ]
)

#: Schema of the validation read. Elements are empty structs so that the parser checks each is a
#: JSON object (anything else marks the record corrupt) without copying its text.
ENVELOPE_PROBE_SCHEMA = T.StructType(
    [
        T.StructField("candidates", T.ArrayType(T.StructType([]))),
        T.StructField("programId", T.StringType()),
        T.StructField("marketplace", T.StringType()),
        T.StructField("metrics", T.StringType()),
        # A manifest's part list, as its JSON text (a string field takes any JSON value).
        T.StructField("parts", T.StringType()),
        T.StructField(CORRUPT_RECORD, T.StringType()),
    ]
)

# Every leaf is a string: a string field accepts any JSON value (a number arrives as its text), so
# an unexpected type never nulls the whole record; the rules convert with try_cast.
RULE_FIELDS_SCHEMA = T.StructType(
    [
        T.StructField("customerId", T.StringType()),
        T.StructField(
            "subject",
            T.StructType(
                [
                    T.StructField("type", T.StringType()),
                    T.StructField("id", T.StringType()),
                ]
            ),
        ),
        T.StructField(
            "attributes",
            T.StructType(
                [
                    T.StructField("eventDate", T.StringType()),
                    T.StructField("orderValue", T.StringType()),
                    T.StructField("channelEligibility", T.MapType(T.StringType(), T.StringType())),
                ]
            ),
        ),
        T.StructField("metadata", T.StructType([T.StructField("expiresAt", T.StringType())])),
    ]
)


# --- reading the input: an envelope or a manifest and its parts -------------------------------


def summarise_envelope(probe: DataFrame) -> DataFrame:
    """Reduce an input object read with ``ENVELOPE_PROBE_SCHEMA`` to one row of small facts.

    Parameters
    ----------
    probe
        The input object read as JSON with ``ENVELOPE_PROBE_SCHEMA``, ``multiLine`` and PERMISSIVE
        mode with ``columnNameOfCorruptRecord = "_corrupt_record"``.

    Returns
    -------
    DataFrame
        One row: ``documents`` (0 for an empty object), ``corrupt``, ``hasCandidates``,
        ``nullCandidates``, ``candidateCount``, ``programId``, ``marketplace``,
        ``metricsIsObject``, ``hasParts`` and ``parts`` (a manifest's part list as JSON text).
        Never the candidates nor the corrupt text (that can be the whole object), so the row is
        safe to collect.
    """
    metrics = F.trim(F.col("metrics"))
    return probe.agg(
        F.count(F.lit(1)).alias("documents"),
        F.max(F.col(CORRUPT_RECORD).isNotNull()).alias("corrupt"),
        F.max(F.col("candidates").isNotNull()).alias("hasCandidates"),
        F.max(F.exists("candidates", lambda c: c.isNull())).alias("nullCandidates"),
        F.max(F.size("candidates")).alias("candidateCount"),
        F.first("programId", ignorenulls=True).alias("programId"),
        F.first("marketplace", ignorenulls=True).alias("marketplace"),
        # A string field holds an object's JSON text, so an object starts with "{".
        F.max(metrics.isNull() | metrics.startswith("{")).alias("metricsIsObject"),
        F.max(F.col("parts").isNotNull()).alias("hasParts"),
        F.first("parts", ignorenulls=True).alias("parts"),
    )


def envelope_problem(summary: Row | None) -> str | None:
    """Say what makes the input neither a stage envelope nor a manifest, or ``None``.

    The part list of a manifest (``hasParts``) is checked by ``parts.parse_part_list``.

    Parameters
    ----------
    summary
        The row of :func:`summarise_envelope` (``None`` when it produced no row).

    Returns
    -------
    str or None
        A short phrase naming the offending member, e.g. ``"'programId' is missing or empty"``.
    """
    if summary is None or not summary["documents"]:
        return "the object is empty"
    if summary["corrupt"]:
        if summary["programId"] is not None or summary["marketplace"] is not None:
            return "'candidates' is not a list of JSON objects"
        return "it is not valid JSON, or not a JSON object with a 'candidates' list of objects"
    if summary["hasParts"] and summary["hasCandidates"]:
        return "it has both 'candidates' (an envelope) and 'parts' (a manifest)"
    if not summary["hasCandidates"] and not summary["hasParts"]:
        return "'candidates' is missing (nor is it a manifest with 'parts')"
    if summary["nullCandidates"]:
        return "'candidates' contains null"
    for member in ("programId", "marketplace"):
        value = summary[member]
        if value is None or not value.strip():
            return f"'{member}' is missing or empty"
    if not summary["metricsIsObject"]:
        return "'metrics' is not a JSON object"
    return None


def explode_candidates(envelope: DataFrame, partitions: int | None = None) -> DataFrame:
    """One row per candidate: its position in the input list and its JSON text.

    Parameters
    ----------
    envelope
        The input object read with ``ENVELOPE_SCHEMA`` (one row).
    partitions
        Spread the candidates over this many partitions. The envelope is one JSON document that
        Spark parses in a single task; without a repartition every later rule runs on one core.

    Returns
    -------
    DataFrame
        Columns ``position`` (long, 0-based) and ``raw`` (string).
    """
    # Spark 4 hands a value over exactly as written (spark.sql.json.enableExactStringParsing), so a
    # pretty-printed envelope gives candidates that span lines; Spark 3.5 regenerates them compactly.
    # A raw CR or LF in a candidate's text can only be whitespace between tokens (the reader
    # refuses unescaped control characters in strings), so a space in its place changes nothing
    # but keeps each candidate on one line of its output part.
    exploded = envelope.select(F.posexplode("candidates").alias("position", "raw")).select(
        F.col("position").cast("long").alias("position"), F.translate("raw", "\r\n", "  ").alias("raw")
    )
    return exploded.repartition(partitions) if partitions else exploded


def file_key(uri: str) -> str:
    """``uri`` without its scheme and the slashes after it, as :func:`explode_part_lines` joins on."""
    return re.sub(_SCHEME, "", uri)


def explode_part_lines(files: DataFrame, part_of_file: DataFrame) -> DataFrame:
    """One row per non-blank line of the part files: its position and its candidate's JSON text.

    Parameters
    ----------
    files
        The parts read with ``spark.read.text(paths, wholetext=True)``: one row per file, so a
        line's index in its file is known without relying on how Spark splits files.
    part_of_file
        Columns ``file`` (:func:`file_key` of the path the file was read from, as given to the
        reader: not URL-encoded) and ``part`` (its index in the manifest), one row per file. A
        file without a row here is not read at all (see :func:`count_part_lines`).

    Returns
    -------
    DataFrame
        Columns ``position`` (long: ``part << PART_SHIFT | line index``) and ``raw``: the line's
        object as JSON text regenerated by Spark's parser (same values, member order and number
        types; whitespace dropped; content after the first JSON value ignored, as in an envelope),
        or NULL when the line is not a JSON object (``firstMalformedPosition`` of
        :func:`count_statuses`).
    """
    # _metadata.file_path is the URL-encoded form of the path (a space is "%20", a "%" is "%25"),
    # in Spark 3.5 and 4 alike; decoded, it is the path as the job gave it to the reader ("+"
    # stays "+" in that encoding, while url_decode would read it as a space).
    decoded = F.expr(f"url_decode(replace(regexp_replace(_metadata.file_path, '{_SCHEME}', ''), '+', '%2B'))")
    keyed = files.select(decoded.alias("file"), "value")
    lines = keyed.join(F.broadcast(part_of_file), "file").select(
        "part", F.posexplode(F.split("value", r"\r?\n")).alias("line", "text")
    )
    # Blank lines are skipped, as the handlers' decode_part() does.
    non_blank = lines.where(~F.col("text").rlike(r"^\s*$"))
    # "$" of get_json_object is the whole value; a line not starting with "{" is no object even if
    # it parses (a JSON string "{..." would come back unquoted).
    regenerated = F.get_json_object("text", "$")
    is_object = F.col("text").rlike(r"^\s*\{") & regenerated.isNotNull()
    return non_blank.select(
        (F.col("part").cast("long") * F.lit(1 << PART_SHIFT) + F.col("line")).alias("position"),
        F.when(is_object, regenerated).alias("raw"),
    )


def count_part_lines(classified: DataFrame) -> DataFrame:
    """Candidates (non-blank lines) read from each part: columns ``part`` (int) and ``count``.

    A part the reader found no line of has no row. The job compares these with the manifest's
    counts, which also proves that every part file was matched to its part.
    """
    part = F.expr(f"position div {1 << PART_SHIFT}").cast("int").alias("part")
    return classified.groupBy(part).agg(F.count(F.lit(1)).alias("count"))


# --- the rules --------------------------------------------------------------------------------


def _non_empty(column: Column) -> Column:
    # NULL-safe: isNotNull() is false for NULL, so the AND is false rather than NULL.
    return column.isNotNull() & (F.length(F.trim(column)) > 0)


def classify_candidates(candidates: DataFrame, reference_time: datetime, partitions: int | None = None) -> DataFrame:
    """Apply the HeavyETL rules: give every candidate a status and derive its features.

    Rules, in order: a candidate without a non-empty ``customerId``, ``subject.type``,
    ``subject.id`` or without a parseable ``attributes.eventDate`` / ``metadata.expiresAt`` is
    ``INVALID``; one whose ``expiresAt`` is before ``reference_time`` is ``EXPIRED``; of the
    remaining candidates with the same (customerId, subject.type, subject.id) the one with the
    latest ``eventDate`` is ``KEPT`` (equal dates: the earliest in the input) and the others are
    ``DUPLICATE``. Expiry goes first so that an expired latest event does not hide a live older one.

    Parameters
    ----------
    candidates
        Columns ``position`` and ``raw``, as from :func:`explode_candidates`.
    reference_time
        "Now" for expiry and days since event; timezone-aware (naive means UTC).
    partitions
        Hash-partition by the dedup key into this many partitions before the window, which then
        needs no shuffle of its own: the job's parallelism follows the cluster, not
        ``spark.sql.shuffle.partitions`` (200 tiny tasks for a small input otherwise).

    Returns
    -------
    DataFrame
        ``position``, ``raw``, ``status`` and the features ``daysSinceEvent`` (int, whole days from
        eventDate to the reference time, 0 for a future event), ``orderValueBucket`` (string) and
        ``eligibleChannelCount`` (int, channels whose eligibility is ``true``).
    """
    ref_micros = _epoch_micros(reference_time)
    fields = candidates.select("position", "raw", F.from_json("raw", RULE_FIELDS_SCHEMA).alias("f")).select(
        "position",
        "raw",
        F.col("f.customerId").alias("customerId"),
        F.col("f.subject.type").alias("subjectType"),
        F.col("f.subject.id").alias("subjectId"),
        # try_cast: Spark 4 runs in ANSI mode, where a plain cast of a malformed value fails the
        # job; Column.try_cast is Spark 4 only, the SQL function exists since 3.2.
        F.expr("try_cast(f.attributes.eventDate AS TIMESTAMP)").alias("eventTs"),
        F.expr("try_cast(f.metadata.expiresAt AS TIMESTAMP)").alias("expiresTs"),
        F.expr("try_cast(f.attributes.orderValue AS DOUBLE)").alias("orderValue"),
        F.col("f.attributes.channelEligibility").alias("channels"),
    )
    if partitions:
        fields = fields.repartition(partitions, "customerId", "subjectType", "subjectId")
    valid = (
        _non_empty(F.col("customerId"))
        & _non_empty(F.col("subjectType"))
        & _non_empty(F.col("subjectId"))
        & F.col("eventTs").isNotNull()
        & F.col("expiresTs").isNotNull()
    )
    expired = F.expr("unix_micros(expiresTs)") < F.lit(ref_micros)
    before_dedup = F.when(~valid, F.lit(INVALID)).when(expired, F.lit(EXPIRED)).otherwise(F.lit(KEPT))
    # Invalid and expired rows get their own window partitions, so they never shadow a live one.
    latest_first = Window.partitionBy("preStatus", "customerId", "subjectType", "subjectId").orderBy(
        F.col("eventTs").desc(), F.col("position").asc()
    )
    ranked = fields.withColumn("preStatus", before_dedup).withColumn("rank", F.row_number().over(latest_first))
    status = F.when((F.col("preStatus") == KEPT) & (F.col("rank") > 1), F.lit(DUPLICATE)).otherwise(F.col("preStatus"))
    return ranked.select(
        "position",
        "raw",
        status.alias("status"),
        _days_since_event(ref_micros).alias("daysSinceEvent"),
        _order_value_bucket(F.col("orderValue")).alias("orderValueBucket"),
        _eligible_channel_count(F.col("channels")).alias("eligibleChannelCount"),
    )


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)


def isoformat_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix, the way the stages write times."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def _epoch_micros(moment: datetime) -> int:
    aware = as_utc(moment)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _days_since_event(ref_micros: int) -> Column:
    # Integral division truncates toward zero, which is the floor for the non-negative values
    # greatest() leaves; an event after the reference time counts as 0 days. greatest() skips
    # NULLs, hence the explicit guard for a missing eventDate.
    whole_days = F.expr(f"greatest({ref_micros} - unix_micros(eventTs), 0) div {_MICROS_PER_DAY}")
    return F.when(F.col("eventTs").isNull(), F.lit(None)).otherwise(whole_days).cast("int")


def _order_value_bucket(order_value: Column) -> Column:
    bucket = F.when(order_value.isNull() | F.isnan(order_value), F.lit(NO_ORDER_VALUE_BUCKET))
    for name, upper in ORDER_VALUE_BUCKETS:
        bucket = bucket.when(order_value < F.lit(upper), F.lit(name))
    return bucket.otherwise(F.lit(PREMIUM_BUCKET))


def _eligible_channel_count(channels: Column) -> Column:
    # size(NULL) is -1 in Spark 3 and NULL in Spark 4 (ANSI): no map means no eligible channel.
    eligible = F.size(F.filter(F.map_values(channels), lambda v: v == F.lit("true")))
    return F.when(channels.isNull(), F.lit(0)).otherwise(eligible).cast("int")


# --- counting and rendering -------------------------------------------------------------------


def count_statuses(classified: DataFrame) -> DataFrame:
    """Count candidates per status in one aggregation.

    Parameters
    ----------
    classified
        Output of :func:`classify_candidates`.

    Returns
    -------
    DataFrame
        One row: ``inputCount``, one column per status (``KEPT``, ``INVALID``, ``EXPIRED``,
        ``DUPLICATE``) and ``firstMalformedPosition``: the lowest position whose ``raw`` is NULL
        (a part line that is not a JSON object), NULL when there is none.
    """
    status = F.col("status")
    return classified.agg(
        F.count(F.lit(1)).alias("inputCount"),
        *(F.count(F.when(status == name, 1)).alias(name) for name in (KEPT, *DROP_REASONS)),
        F.min(F.when(F.col("raw").isNull(), F.col("position"))).alias("firstMalformedPosition"),
    )


@dataclass(frozen=True)
class HeavyEtlMetrics:
    """What the stage did, as written under ``metrics`` in its output envelope."""

    input_count: int
    output_count: int
    dropped: Mapping[str, int]
    reference_time: datetime

    @classmethod
    def from_counts(cls, counts: Row, reference_time: datetime) -> HeavyEtlMetrics:
        """Build from the row of :func:`count_statuses`."""
        return cls(
            input_count=int(counts["inputCount"]),
            output_count=int(counts[KEPT]),
            dropped={reason: int(counts[reason]) for reason in DROP_REASONS},
            reference_time=reference_time,
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The ``metrics`` member of the output envelope (camelCase, like the other stages)."""
        return {
            "inputCount": self.input_count,
            "outputCount": self.output_count,
            "droppedCount": sum(self.dropped.values()),
            "droppedReasons": dict(self.dropped),
            "referenceTime": isoformat_utc(self.reference_time),
        }


def candidate_documents(classified: DataFrame) -> DataFrame:
    """The kept candidates as JSON text with their ``features`` member.

    A candidate without a ``features`` member gets it appended to its text in the JVM, leaving
    every other byte as read. One that already has it (the job run on its own output) is rewritten
    by a Python UDF that replaces the member in place: text surgery cannot remove a member safely,
    and such rows are rare, so the UDF's cost is paid only for them.

    Parameters
    ----------
    classified
        Output of :func:`classify_candidates`.

    Returns
    -------
    DataFrame
        Columns ``position`` and ``document`` (one JSON object per kept candidate).
    """
    kept = classified.where(F.col("status") == KEPT).select(
        "position",
        "raw",
        F.to_json(F.struct("daysSinceEvent", "orderValueBucket", "eligibleChannelCount")).alias("featuresJson"),
        F.json_object_keys("raw").alias("keys"),
    )
    has_features = F.array_contains("keys", "features")
    appended = kept.where(~has_features).select(
        "position",
        F.concat(
            F.regexp_replace("raw", r"\}\s*$", ""),
            F.when(F.size("keys") == 0, F.lit("")).otherwise(F.lit(",")),
            F.lit('"features":'),
            F.col("featuresJson"),
            F.lit("}"),
        ).alias("document"),
    )

    # Defined here, not at module level: cloudpickle then ships the function by value, so
    # executors need not import ceap_glue (locally they run without the job's sys.path).
    # No type hints: Spark 4 would try to read them as pandas UDF hints and warn.
    def replace_features(raw, features_json):  # type: ignore[no-untyped-def]
        candidate = json.loads(raw)
        candidate["features"] = json.loads(features_json)
        return json.dumps(candidate, ensure_ascii=False, separators=(",", ":"))

    # useArrow=False: a plain row-at-a-time UDF on Spark 3.5 and 4 alike, with no pandas/pyarrow.
    replace_udf = F.udf(replace_features, T.StringType(), useArrow=False)
    replaced = kept.where(has_features).select("position", replace_udf("raw", "featuresJson").alias("document"))
    return appended.unionByName(replaced)


def kept_per_bucket(classified: DataFrame) -> DataFrame:
    """Kept candidates per rank bucket (``position div RANK_BUCKET``): columns ``bucket``, ``count``.

    One row per bucket that keeps anything: input size / 16,384 rows at most, or one per part.
    """
    bucket = F.expr(f"position div {RANK_BUCKET}").alias("bucket")
    return classified.where(F.col("status") == KEPT).groupBy(bucket).agg(F.count(F.lit(1)).alias("count"))


def bucket_offsets(counts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(bucket, kept before it)`` from ``(bucket, kept in it)``: the rank of a bucket's first candidate."""
    offsets: list[tuple[int, int]] = []
    total = 0
    for bucket, count in sorted(counts):
        offsets.append((bucket, total))
        total += count
    return offsets


def sharded_lines(documents: DataFrame, offsets: DataFrame, part_size: int, part_count: int) -> DataFrame:
    """The output lines, one Spark partition per output part and in order within it.

    A candidate's rank among the kept ones is its bucket's offset plus its row number in the
    bucket: a global ``row_number()`` would pull everything into one task, and a bucket is small.
    Its part is ``rank div part_size``; the repartition by part puts each part into one task, so a
    writer partitioned by ``part`` emits one file per part (two parts may share a task, never a file).

    Parameters
    ----------
    documents
        Output of :func:`candidate_documents`.
    offsets
        Columns ``bucket`` and ``offset`` (long), from :func:`bucket_offsets`.
    part_size, part_count
        Candidates per part and the number of parts (``ceil(kept / part_size)``).

    Returns
    -------
    DataFrame
        Columns ``part`` (int) and ``value`` (one candidate's JSON text).
    """
    in_bucket = Window.partitionBy("bucket").orderBy("position")
    ranked = documents.withColumn("bucket", F.expr(f"position div {RANK_BUCKET}")).join(F.broadcast(offsets), "bucket")
    rank = F.col("offset") + F.row_number().over(in_bucket) - F.lit(1)
    parted = ranked.select(rank.alias("rank"), "document").select(
        F.expr(f"rank div {part_size}").cast("int").alias("part"), "rank", "document"
    )
    # Sorted by (part, rank): the writer needs rows grouped by part and keeps this order within it.
    return (
        parted.repartition(part_count, "part")
        .sortWithinPartitions("part", "rank")
        .select("part", F.col("document").alias("value"))
    )


def heavy_etl(envelope: DataFrame, reference_time: datetime, partitions: int | None = None) -> DataFrame:
    """Explode and classify the candidates of an envelope read with ``ENVELOPE_SCHEMA``."""
    return classify_candidates(explode_candidates(envelope, partitions), reference_time, partitions)
