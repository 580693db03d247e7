"""Properties of the HeavyETL pipeline on generated envelopes, checked on real Spark.

One pipeline run per example serves several properties (the Spark jobs dominate the cost);
each property has its own assertion and message.
"""

from __future__ import annotations

import json
from typing import Any

from glue_testkit import (
    REFERENCE_TIME,
    canonical,
    envelopes,
    oracle_output,
    oracle_statuses,
    run_pipeline,
)
from hypothesis import given
from pyspark.sql import SparkSession

from ceap_glue import transforms as tf


def _without_features(cand: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cand.items() if k != "features"}


@given(envelope=envelopes)
def test_heavy_etl__generated_envelope__matches_oracle_and_is_idempotent(
    spark: SparkSession, envelope: dict[str, Any]
) -> None:
    """Feature: HeavyETL, Properties: no candidate gained, dedup keeps the latest,
    candidates round-trip faithfully, metrics account for every drop, idempotence."""
    inputs = envelope["candidates"]
    first = run_pipeline(spark, json.dumps(envelope))
    out = first.document["candidates"]

    # The output is the stage envelope, nothing more.
    assert set(first.document) == {"candidates", "metrics", "programId", "marketplace"}
    assert (first.document["programId"], first.document["marketplace"]) == (
        envelope["programId"],
        envelope["marketplace"],
    )

    # No candidate gained: each output candidate is an input candidate (plus features), in order.
    remaining = [canonical(_without_features(c)) for c in inputs]
    for cand in out:
        assert canonical(_without_features(cand)) in remaining, "output candidate not in the input"
        remaining = remaining[remaining.index(canonical(_without_features(cand))) + 1 :]
    assert len(out) <= len(inputs)

    # Dedup keeps the latest, expiry and validity as documented; byte-for-byte JSON types and
    # member order preserved, features set in place or appended.
    expected = oracle_output(inputs, REFERENCE_TIME)
    assert [canonical(c) for c in out] == [canonical(c) for c in expected]

    # Metrics account for every input candidate.
    statuses = oracle_statuses(inputs, REFERENCE_TIME)
    metrics = first.document["metrics"]
    assert metrics["inputCount"] == len(inputs)
    assert metrics["outputCount"] == len(out)
    assert metrics["droppedReasons"] == {reason: statuses.count(reason) for reason in tf.DROP_REASONS}
    assert metrics["droppedCount"] == len(inputs) - len(out)

    # Idempotence: the job run on its own output changes no candidate and drops nothing.
    second = run_pipeline(spark, first.text)
    assert [canonical(c) for c in second.document["candidates"]] == [canonical(c) for c in out]
    assert second.document["metrics"]["droppedCount"] == 0
