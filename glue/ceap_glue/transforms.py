"""Pure DataFrame transformations of the HeavyETL stage.

Nothing here touches S3, arguments or ``awsglue``: every function takes DataFrames (and plain
values) and returns a DataFrame or plain data, so the rules run unchanged on a laptop, in CI and
on Glue. Only Spark 3.5 APIs are used (Glue 5.0 runs Spark 3.5; the tests run Spark 4.x).

Candidates stay JSON text from input to output. Spark's JSON reader hands a value read into a
``string`` field over as its JSON text, so no candidate field is ever coerced by schema
inference (which would turn missing fields into nulls and mixed types into strings). The rules
read the few fields they need with ``from_json`` and a narrow all-string schema; the output is
the input text with a ``features`` member added.
"""

from __future__ import annotations

import json
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
#: Sort keys of the envelope's first and last line; candidate lines sort by input position.
_HEADER_ORD = -1
_FOOTER_ORD = 2**63 - 1

CORRUPT_RECORD = "_corrupt_record"

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


# --- reading the envelope ---------------------------------------------------------------------


def summarise_envelope(probe: DataFrame) -> DataFrame:
    """Reduce an envelope read with ``ENVELOPE_PROBE_SCHEMA`` to one row of small facts.

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
        ``metricsIsObject``. Never the candidates nor the corrupt text (that can be the whole
        object), so the row is safe to collect.
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
    )


def envelope_problem(summary: Row | None) -> str | None:
    """Say what makes the input not a stage envelope, or ``None`` when it is one.

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
    if not summary["hasCandidates"]:
        return "'candidates' is missing"
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
    exploded = envelope.select(F.posexplode("candidates").alias("position", "raw")).select(
        F.col("position").cast("long").alias("position"), "raw"
    )
    return exploded.repartition(partitions) if partitions else exploded


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
        ``DUPLICATE``) and ``firstKeptPosition`` (NULL when nothing is kept).
    """
    status = F.col("status")
    return classified.agg(
        F.count(F.lit(1)).alias("inputCount"),
        *(F.count(F.when(status == name, 1)).alias(name) for name in (KEPT, *DROP_REASONS)),
        F.min(F.when(status == KEPT, F.col("position"))).alias("firstKeptPosition"),
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


def envelope_edges(metrics: Mapping[str, Any], program_id: str, marketplace: str) -> tuple[str, str]:
    """First and last line of the output envelope around the candidate lines.

    Returns
    -------
    tuple of str
        ``{"candidates":[`` and ``],"metrics":...,"programId":...,"marketplace":...}``.
    """
    tail = json.dumps(
        {"metrics": metrics, "programId": program_id, "marketplace": marketplace},
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return '{"candidates":[', "]," + tail[1:]


def envelope_lines(documents: DataFrame, header: str, footer: str, first_position: int | None) -> DataFrame:
    """The output envelope as ordered lines of one JSON object, ready for a text writer.

    Every candidate line but the first starts with the separating comma, so the lines are valid
    JSON whatever Spark's line separator is, with no driver-side join of the candidates.

    Parameters
    ----------
    documents
        Output of :func:`candidate_documents`.
    header, footer
        From :func:`envelope_edges`.
    first_position
        The lowest ``position`` in ``documents`` (``None`` when it is empty).

    Returns
    -------
    DataFrame
        Columns ``ord`` (sort key) and ``value`` (the line).
    """
    first = F.lit(-1 if first_position is None else first_position)
    body = documents.select(
        F.col("position").alias("ord"),
        F.when(F.col("position") == first, F.col("document"))
        .otherwise(F.concat(F.lit(","), F.col("document")))
        .alias("value"),
    )
    edges = documents.sparkSession.createDataFrame(
        [(_HEADER_ORD, header), (_FOOTER_ORD, footer)], "ord long, value string"
    )
    return edges.unionByName(body)


def single_ordered_partition(lines: DataFrame) -> DataFrame:
    """Put all lines into one partition in ``ord`` order, so a writer emits one part file.

    ``repartition(1)`` followed by a sort within that partition guarantees the order; a global
    ``orderBy`` followed by ``coalesce(1)`` only happens to keep it.
    """
    return lines.repartition(1).sortWithinPartitions("ord").select("value")


def heavy_etl(envelope: DataFrame, reference_time: datetime, partitions: int | None = None) -> DataFrame:
    """Explode and classify the candidates of an envelope read with ``ENVELOPE_SCHEMA``."""
    return classify_candidates(explode_candidates(envelope, partitions), reference_time, partitions)
