"""Pure DataFrame transformations of the HeavyETL stage.

Nothing here touches S3, arguments or ``awsglue``: every function takes DataFrames (and plain
values) and returns a DataFrame, so the rules run unchanged on a laptop, in CI and on Glue.
Only the Spark 3.5 API is used (Glue 5.0 runs Spark 3.5; the tests run Spark 4.x).

Candidates stay JSON text from input to output. Spark's JSON reader hands an object read into a
``string`` field over as its JSON text, so no candidate field is ever coerced by schema inference:
the rules read the few fields they need with ``from_json`` and a narrow all-string schema, and
the output is the input text with a ``features`` member added.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# --- status of a candidate after the rules ------------------------------------------------------
KEPT = "KEPT"
#: The three drop reasons, in the order the rules apply them.
INVALID = "INVALID"
EXPIRED = "EXPIRED"
DUPLICATE = "DUPLICATE"
DROP_REASONS: tuple[str, ...] = (INVALID, EXPIRED, DUPLICATE)

# --- order-value buckets: upper bounds (exclusive), in order; at or above the last is PREMIUM ----
ORDER_VALUE_BUCKETS: tuple[tuple[str, float], ...] = (("LOW", 25.0), ("MEDIUM", 100.0), ("HIGH", 500.0))
PREMIUM_BUCKET = "PREMIUM"
#: Bucket of a candidate without a numeric ``attributes.orderValue``.
NO_ORDER_VALUE_BUCKET = "NONE"

_SECONDS_PER_DAY = 86_400
#: Sort key of the envelope's first and last line; candidate lines use their input position.
_HEADER_ORD = -1
_FOOTER_ORD = 2**63 - 1

# Every leaf is a string: a string field accepts any JSON value (numbers and booleans arrive as
# their text), so an unexpected type never nulls the whole record; the rules cast explicitly.
RULE_FIELDS_SCHEMA = T.StructType(
    [
        T.StructField("customerId", T.StringType()),
        T.StructField(
            "subject",
            T.StructType([T.StructField("type", T.StringType()), T.StructField("id", T.StringType())]),
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

CORRUPT_RECORD = "_corrupt_record"

#: Schema the job reads the envelope with: each candidate as its JSON text.
ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("candidates", T.ArrayType(T.StringType())),
        T.StructField("programId", T.StringType()),
        T.StructField("marketplace", T.StringType()),
    ]
)

#: Schema of the cheap validation read: elements as empty structs, so the parser only checks that
#: each one is a JSON object (anything else makes the record corrupt) without copying its text.
ENVELOPE_PROBE_SCHEMA = T.StructType(
    [
        T.StructField("candidates", T.ArrayType(T.StructType([]))),
        T.StructField("programId", T.StringType()),
        T.StructField("marketplace", T.StringType()),
        T.StructField("metrics", T.StringType()),
        T.StructField(CORRUPT_RECORD, T.StringType()),
    ]
)


def summarise_envelope(probe: DataFrame) -> DataFrame:
    """Reduce an envelope read with ``ENVELOPE_PROBE_SCHEMA`` to one row of small facts.

    Parameters
    ----------
    probe
        The envelope, one row per JSON document, read with ``ENVELOPE_PROBE_SCHEMA`` in PERMISSIVE
        mode with ``columnNameOfCorruptRecord = "_corrupt_record"``.

    Returns
    -------
    DataFrame
        Columns ``documents``, ``corrupt``, ``hasCandidates``, ``nullCandidates``,
        ``candidateCount``, ``programId``, ``marketplace``, ``metricsIsObject`` (booleans and
        counts; never the candidates or the corrupt text, which can be the whole object).
    """
    metrics = F.col("metrics")
    return probe.agg(
        F.count(F.lit(1)).alias("documents"),
        F.max(F.col(CORRUPT_RECORD).isNotNull()).alias("corrupt"),
        F.max(F.col("candidates").isNotNull()).alias("hasCandidates"),
        F.max(F.exists("candidates", lambda c: c.isNull())).alias("nullCandidates"),
        F.max(F.size("candidates")).alias("candidateCount"),
        F.first("programId", ignorenulls=True).alias("programId"),
        F.first("marketplace", ignorenulls=True).alias("marketplace"),
        F.max(metrics.isNull() | F.trim(metrics).startswith("{")).alias("metricsIsObject"),
    )


def explode_candidates(envelope: DataFrame, partitions: int | None = None) -> DataFrame:
    """One row per candidate: its position in the input list and its JSON text.

    Parameters
    ----------
    envelope
        The envelope read with ``ENVELOPE_SCHEMA`` (one row).
    partitions
        Spread the candidates over this many partitions. The envelope is one JSON document, so
        Spark parses it in a single task; without a repartition every later rule would run on
        one core.

    Returns
    -------
    DataFrame
        Columns ``position`` (long) and ``raw`` (string).
    """
    exploded = envelope.select(F.posexplode("candidates").alias("position", "raw")).select(
        F.col("position").cast("long").alias("position"), "raw"
    )
    return exploded.repartition(partitions) if partitions else exploded


def _timestamp(text: Column) -> Column:
    # try_cast: Spark 4 runs in ANSI mode, where a plain cast of a malformed date raises.
    return F.expr("try_cast(_ts_text AS TIMESTAMP)") if False else _try_cast(text, "TIMESTAMP")


def _try_cast(column: Column, sql_type: str) -> Column:
    # Column.try_cast is Spark 4 only; the SQL function exists since 3.2 and returns NULL on a
    # value that does not convert (ANSI mode in Spark 4 would otherwise fail the job).
    return F.expr(f"try_cast(`{_TRY_CAST_INPUT}` AS {sql_type})") if False else _sql_try_cast(column, sql_type)


_TRY_CAST_INPUT = "_try_cast_input"


def _sql_try_cast(column: Column, sql_type: str) -> Column:
    return F.call_function("try_cast", column) if False else F.expr(f"try_cast(_c AS {sql_type})")
