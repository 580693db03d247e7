"""Properties of the HeavyETL job on generated inputs, checked on real Spark.

One job run per example serves several properties (the Spark jobs dominate the cost); each
property has its own assertion and message. The references are plain Python: the oracle of the
rules (glue_testkit) and the handlers' own ``chunks()`` for the cut into parts.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from glue_testkit import (
    REFERENCE_TIME,
    canonical,
    envelopes,
    oracle_output,
    oracle_statuses,
    run_job,
    write_envelope,
    write_manifest,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from ceap_glue import transforms as tf
from ceap_handlers.contract.parts import chunks

#: Key of output part ``index`` (lambdas/README.md, "Sharded hand-off").
PART_KEY = "executions/exec-2026-02-01-0001/HeavyETL/parts/part-{index:05d}.jsonl"
#: Cut points into the candidate list; sorted, repeats allowed (an empty input part).
cuts = st.lists(st.integers(0, 14), max_size=3).map(sorted)


def _without_features(cand: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cand.items() if k != "features"}


def _split(candidates: list[Any], points: list[int]) -> list[list[Any]]:
    bounds = [0, *(min(p, len(candidates)) for p in points), len(candidates)]
    return [candidates[a:b] for a, b in itertools.pairwise(bounds)]


def _write_input(root: Path, envelope: dict[str, Any], points: list[int] | None) -> str:
    if points is None:
        return write_envelope(root, "Filter", json.dumps(envelope))
    header = {"programId": envelope["programId"], "marketplace": envelope["marketplace"]}
    return write_manifest(root, "Filter", _split(envelope["candidates"], points), header)


@given(envelope=envelopes, points=st.none() | cuts, part_size=st.integers(1, 6))
def test_heavy_etl__generated_input__parts_match_oracle_and_rerun_is_idempotent(
    spark: SparkSession, envelope: dict[str, Any], points: list[int] | None, part_size: int
) -> None:
    """Feature: HeavyETL, Properties: no candidate gained, dedup keeps the latest, candidates
    round-trip faithfully, parts cut as chunks() cuts, metrics account for every drop, idempotence."""
    inputs = envelope["candidates"]
    with tempfile.TemporaryDirectory(prefix="ceap-glue-test-") as directory:
        root = Path(directory)
        first = run_job(spark, root, _write_input(root, envelope, points), part_size=part_size)
        out = first.output.candidates

        # The manifest carries the input's header.
        manifest = first.output.manifest
        assert (manifest["programId"], manifest["marketplace"]) == (envelope["programId"], envelope["marketplace"])

        # No candidate gained: each output candidate is an input candidate (plus features), in order.
        remaining = [canonical(_without_features(c)) for c in inputs]
        for cand in out:
            assert canonical(_without_features(cand)) in remaining, "output candidate not in the input"
            remaining = remaining[remaining.index(canonical(_without_features(cand))) + 1 :]

        # Dedup keeps the latest, expiry and validity as documented; JSON types and member order
        # preserved, features set in place or appended; concatenated parts = the old single list.
        expected = oracle_output(inputs, REFERENCE_TIME)
        assert [canonical(c) for c in out] == [canonical(c) for c in expected]

        # Parts are cut exactly as the handlers' chunks() cuts (full parts, then the rest; one
        # empty part for nothing): none holds more than the part size, one candidate a line.
        want = [[canonical(c) for c in chunk] for chunk in chunks(expected, part_size)]
        assert [[canonical(c) for c in part] for part in first.output.parts] == want
        for text in first.output.part_texts:
            assert text == "" or text.endswith("\n"), "a part is JSON Lines: every line ends with a newline"
            # Count "\n" only: str.splitlines() would also split at U+2028 inside a JSON string.
            assert 0 < text.count("\n") <= part_size or text == "", "a part holds 1..part-size lines"

        # The manifest and parts.json list the parts at the contract's keys, in order, with what
        # each holds; the manifest's count is their sum.
        keys = [PART_KEY.format(index=i) for i in range(len(want))]
        assert manifest["parts"] == [{"key": k, "count": len(p)} for k, p in zip(keys, want, strict=True)]
        assert first.output.items == [
            {"key": k, "count": len(p), "index": i} for i, (k, p) in enumerate(zip(keys, want, strict=True))
        ]
        assert manifest["count"] == len(expected)
        assert manifest["stage"] == "HeavyETL"

        # Metrics account for every input candidate.
        statuses = oracle_statuses(inputs, REFERENCE_TIME)
        metrics = manifest["metrics"]
        assert metrics["inputCount"] == len(inputs)
        assert metrics["outputCount"] == len(out)
        assert metrics["droppedReasons"] == {reason: statuses.count(reason) for reason in tf.DROP_REASONS}
        assert metrics["droppedCount"] == len(inputs) - len(out)

        # Idempotence: the job run on its own sharded output changes no candidate, drops nothing.
        second = run_job(spark, root, first.output_key, stage="Rerun", part_size=part_size)
        assert [canonical(c) for c in second.output.candidates] == [canonical(c) for c in out]
        assert second.output.manifest["metrics"]["droppedCount"] == 0


@settings(max_examples=12)
@given(envelope=envelopes, points=cuts, part_size=st.integers(1, 5))
def test_heavy_etl__same_candidates_as_envelope_or_as_parts__same_parts_written(
    spark: SparkSession, envelope: dict[str, Any], points: list[int], part_size: int
) -> None:
    """Feature: HeavyETL, Property: the manifest input (the candidates cut into parts anywhere)
    gives the same output as the single-envelope input: same parts, candidates and metrics."""
    outputs = []
    for layout in (None, points):
        with tempfile.TemporaryDirectory(prefix="ceap-glue-test-") as directory:
            root = Path(directory)
            outputs.append(run_job(spark, root, _write_input(root, envelope, layout), part_size=part_size))
    from_envelope, from_parts = outputs

    assert from_parts.output.manifest == from_envelope.output.manifest
    assert from_parts.output.items == from_envelope.output.items
    assert [[canonical(c) for c in part] for part in from_parts.output.parts] == [
        [canonical(c) for c in part] for part in from_envelope.output.parts
    ]
