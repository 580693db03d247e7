"""The HeavyETL rules, one by one, on real Spark (GIVEN candidates / WHEN classified / THEN ...)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from glue_testkit import REFERENCE_TIME, candidate, iso
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


def test_envelope_lines__kept_and_dropped_candidates__one_json_object_in_input_order(
    spark: SparkSession,
) -> None:
    given = [
        candidate("c1", "s1", event=REFERENCE_TIME - 2 * DAY),
        candidate("c2", expires=REFERENCE_TIME - DAY),
        candidate("c3"),
        candidate("c1", "s1", event=REFERENCE_TIME - DAY),
    ]
    frame = spark.createDataFrame([(i, json.dumps(c)) for i, c in enumerate(given)], "position long, raw string")
    classified = tf.classify_candidates(frame, REFERENCE_TIME)
    first = tf.count_statuses(classified).first()
    assert first is not None
    header, footer = tf.envelope_edges({"n": 1}, "retail", "US")
    lines = tf.single_ordered_partition(
        tf.envelope_lines(tf.candidate_documents(classified), header, footer, first["firstKeptPosition"])
    )
    assert lines.rdd.getNumPartitions() == 1
    document = json.loads("\n".join(row.value for row in lines.collect()))
    assert [c["customerId"] for c in document["candidates"]] == ["c3", "c1"]
    assert document["candidates"][1]["attributes"]["eventDate"] == iso(REFERENCE_TIME - DAY)
    assert (document["metrics"], document["programId"], document["marketplace"]) == ({"n": 1}, "retail", "US")


def test_envelope_lines__nothing_kept__empty_candidate_list(spark: SparkSession) -> None:
    frame = spark.createDataFrame(
        [(0, json.dumps(candidate(expires=REFERENCE_TIME - DAY)))], "position long, raw string"
    )
    classified = tf.classify_candidates(frame, REFERENCE_TIME)
    header, footer = tf.envelope_edges({}, "retail", "US")
    lines = tf.envelope_lines(tf.candidate_documents(classified), header, footer, None)
    text = "\n".join(row.value for row in tf.single_ordered_partition(lines).collect())
    assert json.loads(text) == {"candidates": [], "metrics": {}, "programId": "retail", "marketplace": "US"}


# --- plain-Python parts -----------------------------------------------------------------------


def test_metrics__counts__drop_total_and_utc_reference_time() -> None:
    counts = Row(inputCount=7, KEPT=3, INVALID=1, EXPIRED=2, DUPLICATE=1, firstKeptPosition=0)
    metrics = tf.HeavyEtlMetrics.from_counts(counts, REFERENCE_TIME)
    assert metrics.to_json_dict() == {
        "inputCount": 7,
        "outputCount": 3,
        "droppedCount": 4,
        "droppedReasons": {"INVALID": 1, "EXPIRED": 2, "DUPLICATE": 1},
        "referenceTime": "2026-02-01T12:00:00Z",
    }


def test_envelope_edges__program_id_with_quotes__escaped_into_valid_json() -> None:
    header, footer = tf.envelope_edges({"inputCount": 0}, 're"tail\n', "ü")
    assert json.loads(header + footer) == {
        "candidates": [],
        "metrics": {"inputCount": 0},
        "programId": 're"tail\n',
        "marketplace": "ü",
    }


@pytest.mark.parametrize(
    ("summary", "problem"),
    [
        (None, "the object is empty"),
        ({"documents": 1, "corrupt": True, "programId": None, "marketplace": None}, "not valid JSON"),
        ({"documents": 1, "corrupt": True, "programId": "p", "marketplace": None}, "'candidates' is not a list"),
        ({"documents": 1, "corrupt": False, "hasCandidates": False}, "'candidates' is missing"),
    ],
)
def test_envelope_problem__summary_of_a_bad_object__names_the_problem(
    summary: dict[str, Any] | None, problem: str
) -> None:
    found = tf.envelope_problem(None if summary is None else Row(**summary))
    assert found is not None
    assert problem in found
