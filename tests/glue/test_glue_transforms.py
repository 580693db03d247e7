"""The HeavyETL rules, one by one, on real Spark (GIVEN candidates / WHEN classified / THEN ...)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from glue_testkit import REFERENCE_TIME, candidate
from pyspark.sql import Row, SparkSession

from ceap_glue import transforms as tf

DAY = timedelta(days=1)


def classify(spark: SparkSession, candidates: list[Any]) -> list[Row]:
    """Statuses and features of ``candidates`` (dicts, or raw JSON text), in input order."""
    rows = [(i, c if isinstance(c, str) else json.dumps(c)) for i, c in enumerate(candidates)]
    frame = spark.createDataFrame(rows, "position long, raw string")
    return sorted(tf.classify_candidates(frame, REFERENCE_TIME).collect(), key=lambda r: r.position)


def statuses(spark: SparkSession, candidates: list[Any]) -> list[str]:
    return [row.status for row in classify(spark, candidates)]


def documents(spark: SparkSession, raws: list[str]) -> list[str]:
    rows = [(i, raw) for i, raw in enumerate(raws)]
    frame = spark.createDataFrame(rows, "position long, raw string")
    docs = tf.candidate_documents(tf.classify_candidates(frame, REFERENCE_TIME)).collect()
    return [row.document for row in sorted(docs, key=lambda r: r.position)]


# --- expiry -----------------------------------------------------------------------------------


def test_classify__expires_before_reference__expired_while_at_or_after_reference_kept(
    spark: SparkSession,
) -> None:
    given = [
        candidate("c1", expires=REFERENCE_TIME - timedelta(microseconds=1)),
        candidate("c2", expires=REFERENCE_TIME),
        candidate("c3", expires=REFERENCE_TIME + DAY),
        candidate("c4", expires=REFERENCE_TIME - 30 * DAY),
    ]
    assert statuses(spark, given) == [tf.EXPIRED, tf.KEPT, tf.KEPT, tf.EXPIRED]


def test_classify__expiry_with_offset__compared_as_instant(spark: SparkSession) -> None:
    # 13:30+02:00 is 11:30Z, half an hour before the 12:00Z reference time.
    expired = candidate("c1")
    expired["metadata"]["expiresAt"] = "2026-02-01T13:30:00+02:00"
    live = candidate("c2")
    live["metadata"]["expiresAt"] = "2026-02-01T14:30:00+02:00"
    assert statuses(spark, [expired, live]) == [tf.EXPIRED, tf.KEPT]


# --- dedup ------------------------------------------------------------------------------------


def test_classify__same_key_several_events__latest_kept_others_duplicate(spark: SparkSession) -> None:
    given = [
        candidate("c1", "s1", event=REFERENCE_TIME - 5 * DAY),
        candidate("c1", "s1", event=REFERENCE_TIME - 1 * DAY),
        candidate("c1", "s1", event=REFERENCE_TIME - 3 * DAY),
    ]
    assert statuses(spark, given) == [tf.DUPLICATE, tf.KEPT, tf.DUPLICATE]


def test_classify__same_key_same_event__first_in_input_kept(spark: SparkSession) -> None:
    given = [candidate("c1", "s1"), candidate("c1", "s1"), candidate("c1", "s1")]
    assert statuses(spark, given) == [tf.KEPT, tf.DUPLICATE, tf.DUPLICATE]


def test_classify__latest_event_expired__older_live_candidate_kept(spark: SparkSession) -> None:
    given = [
        candidate("c1", "s1", event=REFERENCE_TIME - 9 * DAY, expires=REFERENCE_TIME + DAY),
        candidate("c1", "s1", event=REFERENCE_TIME - 1 * DAY, expires=REFERENCE_TIME - DAY),
    ]
    assert statuses(spark, given) == [tf.KEPT, tf.EXPIRED]


def test_classify__key_differs_in_one_part__each_kept(spark: SparkSession) -> None:
    given = [
        candidate("c1", "s1", subject_type="product"),
        candidate("c1", "s1", subject_type="video"),
        candidate("c1", "s2", subject_type="product"),
        candidate("c2", "s1", subject_type="product"),
    ]
    assert statuses(spark, given) == [tf.KEPT] * 4


# --- invalid candidates -----------------------------------------------------------------------


def _broken(change: str) -> dict[str, Any]:
    cand = candidate("c1")
    if change == "no customerId":
        del cand["customerId"]
    elif change == "blank customerId":
        cand["customerId"] = "  "
    elif change == "no subject":
        del cand["subject"]
    elif change == "subject not an object":
        cand["subject"] = "s1"
    elif change == "no subject id":
        del cand["subject"]["id"]
    elif change == "eventDate not a date":
        cand["attributes"]["eventDate"] = "yesterday"
    elif change == "no expiresAt":
        del cand["metadata"]["expiresAt"]
    elif change == "expiresAt not a date":
        cand["metadata"]["expiresAt"] = "2026-13-45T00:00:00Z"
    return cand


INVALID_CHANGES = (
    "no customerId",
    "blank customerId",
    "no subject",
    "subject not an object",
    "no subject id",
    "eventDate not a date",
    "no expiresAt",
    "expiresAt not a date",
)


def test_classify__candidate_missing_a_required_field__invalid_and_valid_neighbour_kept(
    spark: SparkSession,
) -> None:
    given = [_broken(change) for change in INVALID_CHANGES] + [candidate("c1")]
    got = statuses(spark, given)
    assert dict(zip(INVALID_CHANGES, got, strict=False)) == dict.fromkeys(INVALID_CHANGES, tf.INVALID)
    assert got[-1] == tf.KEPT


# --- features ---------------------------------------------------------------------------------


def test_classify__event_dates__whole_days_since_event_and_future_events_zero(spark: SparkSession) -> None:
    events = {
        "c1": REFERENCE_TIME - 10 * DAY,
        "c2": REFERENCE_TIME - DAY - timedelta(seconds=1),
        "c3": REFERENCE_TIME - DAY + timedelta(microseconds=1),
        "c4": REFERENCE_TIME,
        "c5": REFERENCE_TIME + 2 * DAY,
    }
    rows = classify(spark, [candidate(cid, event=moment) for cid, moment in events.items()])
    assert [row.daysSinceEvent for row in rows] == [10, 1, 0, 0, 0]


ORDER_VALUES: tuple[tuple[Any, str], ...] = (
    (-5, "LOW"),
    (24.99, "LOW"),
    (25, "MEDIUM"),
    (99.99, "MEDIUM"),
    (100, "HIGH"),
    (499.99, "HIGH"),
    (500, "PREMIUM"),
    (10**25, "PREMIUM"),
    ("30", "MEDIUM"),
    ("abc", "NONE"),
    (None, "NONE"),
    (True, "NONE"),
    ({"amount": 30}, "NONE"),
)


def test_classify__order_values__bucketed_at_documented_bounds(spark: SparkSession) -> None:
    given = [candidate(f"c{i}", order_value=value) for i, (value, _) in enumerate(ORDER_VALUES)]
    missing = candidate("c-missing")
    del missing["attributes"]["orderValue"]
    rows = classify(spark, [*given, missing])
    assert [row.orderValueBucket for row in rows] == [bucket for _, bucket in ORDER_VALUES] + ["NONE"]


def test_classify__channel_eligibility__counts_channels_that_are_true(spark: SparkSession) -> None:
    without = candidate("c4")
    del without["attributes"]["channelEligibility"]
    given = [
        candidate("c1", channels={"email": True, "sms": True, "push": True}),
        candidate("c2", channels={"email": True, "sms": False, "push": None, "inApp": 1}),
        candidate("c3", channels={}),
        without,
    ]
    assert [row.eligibleChannelCount for row in classify(spark, given)] == [3, 1, 0, 0]


# --- output documents -------------------------------------------------------------------------


def test_candidate_documents__no_features_member__appended_and_other_text_untouched(
    spark: SparkSession,
) -> None:
    # Odd spacing, an escaped character, a 1.0 and an integer beyond 64 bits: all must survive.
    attributes = '{"eventDate": "2026-01-30T00:00:00Z", "orderValue": 1.0, "channelEligibility": {"email": true}}'
    raw = (
        '{ "customerId" : "c\\u00e9", "subject": {"type": "product", "id": "s1"}, '
        f'"attributes": {attributes}, '
        '"metadata": {"expiresAt": "2026-03-01T00:00:00Z", "version": 1}, "big": 123456789012345678901234567890 }'
    )
    (doc,) = documents(spark, [raw])
    parsed = json.loads(doc)
    assert parsed.pop("features") == {"daysSinceEvent": 2, "orderValueBucket": "LOW", "eligibleChannelCount": 1}
    assert json.dumps(parsed) == json.dumps(json.loads(raw))
    assert isinstance(parsed["attributes"]["orderValue"], float)
    assert parsed["big"] == 123456789012345678901234567890


def test_candidate_documents__features_member_present__replaced_in_place_once(spark: SparkSession) -> None:
    cand = {"features": {"stale": True}, **candidate("c1", order_value=600)}
    (doc,) = documents(spark, [json.dumps(cand)])
    members = json.loads(doc, object_pairs_hook=lambda pairs: [name for name, _ in pairs])
    assert members[0] == "features"
    assert members.count("features") == 1
    assert json.loads(doc)["features"] == {
        "daysSinceEvent": 3,
        "orderValueBucket": "PREMIUM",
        "eligibleChannelCount": 1,
    }


# --- reading parts and cutting the output into parts -----------------------------------------


def test_explode_candidates__pretty_printed_envelope__each_candidate_on_one_line(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Spark 4's reader keeps a value's text as written; the output is JSON Lines, one candidate a line.
    source = tmp_path / "output.json"
    source.write_text(json.dumps({"candidates": [candidate("c1"), {"note": "a\nb"}], "programId": "p"}, indent=2))
    envelope = spark.read.schema(tf.ENVELOPE_SCHEMA).option("multiLine", True).json(f"file://{source}")

    rows = sorted(tf.explode_candidates(envelope).collect(), key=lambda r: r.position)

    assert [row.position for row in rows] == [0, 1]
    assert ["\n" in row.raw or "\r" in row.raw for row in rows] == [False, False]
    assert [json.loads(row.raw) for row in rows] == [candidate("c1"), {"note": "a\nb"}]


def test_explode_part_lines__two_files__position_is_part_then_line_and_bad_lines_null(
    spark: SparkSession, tmp_path: Path
) -> None:
    # A directory name with a space, a percent and a plus: Spark's own file path is URL-encoded.
    directory = tmp_path / "in put %41+x"
    directory.mkdir()
    first, second = directory / "part-00000.jsonl", directory / "part 1.jsonl"
    first.write_text('{"a": 1}\n{"b": [1, 2.50]}\n', encoding="utf-8")
    second.write_text('{"c": "ü"}\r\n\n  \n[1]\n"{not an object"\n{"d": 1} trailing\n', encoding="utf-8")
    paths = [f"file://{first}", f"file://{second}"]
    files = spark.read.text(paths, wholetext=True)
    # Listed in the opposite order: the part index comes from this table, not from the read.
    part_of_file = spark.createDataFrame(
        [(tf.file_key(paths[1]), 1), (tf.file_key(paths[0]), 0)], "file string, part int"
    )

    rows = sorted(tf.explode_part_lines(files, part_of_file).collect(), key=lambda r: r.position)

    second_part = 1 << tf.PART_SHIFT
    assert [(row.position, row.raw) for row in rows] == [
        (0, '{"a":1}'),
        (1, '{"b":[1,2.5]}'),  # regenerated by the parser: same values, no whitespace
        (second_part + 0, '{"c":"ü"}'),
        (second_part + 3, None),
        (second_part + 4, None),
        (second_part + 5, '{"d":1}'),
    ]


def test_count_part_lines__candidates_of_two_parts__counted_per_part(spark: SparkSession) -> None:
    second_part = 1 << tf.PART_SHIFT
    positions = [0, 1, 2, second_part + 0, second_part + 7]
    frame = spark.createDataFrame([(p, "{}") for p in positions], "position long, raw string")

    counted = {row.part: row["count"] for row in tf.count_part_lines(frame).collect()}

    assert counted == {0: 3, 1: 2}


def test_kept_per_bucket__positions_across_buckets__kept_counted_per_bucket(spark: SparkSession) -> None:
    # Buckets are 16,384 positions wide; part 1's first line (1 << 32) is in bucket 1 << 18.
    given = [
        (1, tf.KEPT),
        (2, tf.DUPLICATE),
        (16_383, tf.KEPT),
        (16_384, tf.KEPT),
        (16_385, tf.EXPIRED),
        (16_386, tf.KEPT),
        (40_000, tf.INVALID),
        ((1 << 32) + 1, tf.KEPT),
    ]
    classified = spark.createDataFrame([(p, "{}", s) for p, s in given], "position long, raw string, status string")

    counted = sorted((row.bucket, row["count"]) for row in tf.kept_per_bucket(classified).collect())

    assert counted == [(0, 2), (1, 2), (1 << 18, 1)]


def test_bucket_offsets__unordered_counts__kept_before_each_bucket() -> None:
    assert tf.bucket_offsets([(7, 4), (0, 3), (2, 1)]) == [(0, 0), (2, 3), (7, 4)]
    assert tf.bucket_offsets([]) == []


def test_sharded_lines__candidates_over_buckets__each_part_in_one_partition_in_rank_order(
    spark: SparkSession,
) -> None:
    # 7 documents in three buckets, given out of order; parts of 3: [0, 1, 2], [3, 4, 5], [6].
    positions = [16_384 * 2 + 5, 4, 16_384 + 1, 0, 16_384 * 2 + 1, 16_384, 9]
    documents = spark.createDataFrame([(p, f'{{"n":{p}}}') for p in positions], "position long, document string")
    offsets = spark.createDataFrame(tf.bucket_offsets([(0, 3), (1, 2), (2, 2)]), "bucket long, offset long")

    lines = tf.sharded_lines(documents, offsets, part_size=3, part_count=3)
    partitions = lines.rdd.glom().collect()

    by_part: dict[int, list[int]] = {}
    for rows in partitions:
        for part in {row.part for row in rows}:
            assert part not in by_part, f"part {part} is spread over two partitions"
            by_part[part] = [json.loads(row.value)["n"] for row in rows if row.part == part]
    assert by_part == {0: [0, 4, 9], 1: [16_384, 16_385, 32_769], 2: [32_773]}
    assert len(partitions) == 3


# --- plain-Python parts -----------------------------------------------------------------------


def test_metrics__counts__drop_total_and_utc_reference_time() -> None:
    counts = Row(inputCount=7, KEPT=3, INVALID=1, EXPIRED=2, DUPLICATE=1, firstMalformedPosition=None)
    metrics = tf.HeavyEtlMetrics.from_counts(counts, REFERENCE_TIME)
    assert metrics.to_json_dict() == {
        "inputCount": 7,
        "outputCount": 3,
        "droppedCount": 4,
        "droppedReasons": {"INVALID": 1, "EXPIRED": 2, "DUPLICATE": 1},
        "referenceTime": "2026-02-01T12:00:00Z",
    }


@pytest.mark.parametrize(
    ("summary", "problem"),
    [
        (None, "the object is empty"),
        ({"documents": 1, "corrupt": True, "programId": None, "marketplace": None}, "not valid JSON"),
        ({"documents": 1, "corrupt": True, "programId": "p", "marketplace": None}, "'candidates' is not a list"),
        ({"documents": 1, "corrupt": False, "hasCandidates": False, "hasParts": False}, "'candidates' is missing"),
        ({"documents": 1, "corrupt": False, "hasCandidates": True, "hasParts": True}, "both 'candidates'"),
    ],
)
def test_envelope_problem__summary_of_a_bad_object__names_the_problem(
    summary: dict[str, Any] | None, problem: str
) -> None:
    found = tf.envelope_problem(None if summary is None else Row(**summary))
    assert found is not None
    assert problem in found
