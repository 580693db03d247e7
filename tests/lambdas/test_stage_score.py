"""Score stage logic (pure): bounded deterministic scores, cache with TTL, fallback."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import CandidateEnvelope, ModelConfig, format_instant, parse_instant
from ceap_handlers.errors import TransientStageError
from ceap_handlers.stages import scoring

from . import testkit

WEIGHTED = ModelConfig(
    "propensity", "weighted", True, {"weights": {"recency": 0.5, "orderValue": 0.3, "channelCount": 0.2}}
)


class DictCache:
    """In-memory ScoreCache that records its calls."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], scoring.CachedScore] = {}
        self.gets: list[int] = []
        self.puts: list[int] = []

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], scoring.CachedScore]:
        self.gets.append(len(keys))
        return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, entries: Sequence[scoring.CachedScore]) -> None:
        self.puts.append(len(entries))
        self.entries.update({(e.pk, e.sk): e for e in entries})


def score(cands: list[dict[str, Any]], models: list[ModelConfig], **kwargs: Any) -> scoring.ScoreResult:
    return scoring.score_candidates(
        CandidateEnvelope("retail", "US", cands), models, now=kwargs.pop("now", testkit.NOW), **kwargs
    )


weights = st.fixed_dictionaries(
    {},
    optional={name: st.floats(min_value=0, max_value=10, allow_nan=False) for name in scoring.FEATURES},
).filter(lambda w: sum(w.values()) > 0)
models_st = st.one_of(
    weights.map(lambda w: ModelConfig("m", "weighted", True, {"weights": w})),
    st.builds(
        lambda w, b: ModelConfig("m", "logistic", True, {"weights": w, "bias": b}),
        st.dictionaries(st.sampled_from(scoring.FEATURES), st.floats(min_value=-50, max_value=50, allow_nan=False)),
        st.floats(min_value=-50, max_value=50, allow_nan=False),
    ),
)


@given(st.lists(testkit.candidates_st(), min_size=1, max_size=20), models_st)
def test_score__generated_candidates_and_models__bounded_and_deterministic(
    cands: list[dict[str, Any]], model: ModelConfig
) -> None:
    """Feature: ceap-handlers, Property: score bounds and determinism."""
    first = score(copy.deepcopy(cands), [model])
    later = score(copy.deepcopy(cands[::-1]), [model], now=testkit.NOW + timedelta(days=3))
    values = [(c["scores"]["m"]["value"], c["scores"]["m"]["confidence"]) for c in first.envelope["candidates"]]
    assert all(0 <= v <= 1 and 0 <= c <= 1 for v, c in values)
    assert [
        (c["scores"]["m"]["value"], c["scores"]["m"]["confidence"]) for c in later.envelope["candidates"]
    ] == values[::-1]
    assert first.envelope["metrics"]["fallbackCount"] == 0
    assert first.envelope["metrics"]["scoredCount"] == len(cands)


@given(testkit.candidates_st(with_scores=False), st.floats(min_value=0, max_value=100, allow_nan=False))
def test_score__older_event__never_scores_higher(cand: dict[str, Any], extra_days: float) -> None:
    older = copy.deepcopy(cand)
    event = parse_instant(cand["attributes"]["eventDate"], "e") - timedelta(days=extra_days)
    older["attributes"]["eventDate"] = format_instant(event)
    new_value = score([cand], [WEIGHTED]).envelope["candidates"][0]["scores"]["propensity"]["value"]
    old_value = score([older], [WEIGHTED]).envelope["candidates"][0]["scores"]["propensity"]["value"]
    assert old_value <= new_value


def test_score__glue_features_object__ignored_and_kept() -> None:
    plain = testkit.candidate()
    with_features = {**copy.deepcopy(plain), "features": {"recencyDays": 999, "orderValue": -1}}
    a = score([plain], [WEIGHTED]).envelope["candidates"][0]
    b = score([with_features], [WEIGHTED]).envelope["candidates"][0]
    assert a["scores"] == b["scores"]
    assert b["features"] == {"recencyDays": 999, "orderValue": -1}


@pytest.mark.parametrize(
    "model",
    [
        ModelConfig("bad", "neural", True, {}),
        ModelConfig("bad", "weighted", True, {"weights": {"recency": -1, "orderValue": 2}}),
        ModelConfig("bad", "weighted", True, {"weights": {"colour": 1}}),
        ModelConfig("bad", "weighted", True, {"recencyHalfLifeDays": 0}),
    ],
)
def test_score__failing_model__fallback_score_flagged(model: ModelConfig) -> None:
    result = score([testkit.candidate(), testkit.candidate("C2")], [WEIGHTED, model])
    for cand in result.envelope["candidates"]:
        fallback = cand["scores"]["bad"]
        assert (fallback["value"], fallback["confidence"], fallback["metadata"]["fallback"]) == (0.5, 0.1, True)
        assert cand["scores"]["propensity"].get("metadata") is None
    assert result.envelope["metrics"] == {
        "inputCount": 2,
        "scoredCount": 0,
        "fallbackCount": 2,
        "errorCount": 2,
        "cacheHitCount": 0,
    }
    assert "bad" in result.model_errors


def test_score__existing_scores_of_other_models__kept() -> None:
    cand = testkit.candidate(scores={"trust": testkit.score("trust", 0.7)})
    out = score([cand], [WEIGHTED]).envelope["candidates"][0]
    assert set(out["scores"]) == {"trust", "propensity"}


def test_score__cache__second_run_reuses_fresh_entries() -> None:
    cache = DictCache()
    cands = [testkit.candidate(f"C{i}") for i in range(3)]
    first = score(copy.deepcopy(cands), [WEIGHTED], cache=cache)
    second = score(copy.deepcopy(cands), [WEIGHTED], cache=cache, now=testkit.NOW + timedelta(hours=1))
    assert cache.puts == [3]
    assert second.envelope["metrics"]["cacheHitCount"] == 3
    assert [c["scores"] for c in second.envelope["candidates"]] == [c["scores"] for c in first.envelope["candidates"]]
    pk, sk = next(iter(cache.entries))
    assert (pk, sk) == ("CUSTOMER#C0#SUBJECT#B001", "MODEL#propensity")
    assert next(iter(cache.entries.values())).ttl == int((testkit.NOW + timedelta(hours=24)).timestamp())


def test_score__cache_entry_expired__recomputed_and_rewritten() -> None:
    cache = DictCache()
    score([testkit.candidate()], [WEIGHTED], cache=cache, cache_ttl_hours=1)
    later = score([testkit.candidate()], [WEIGHTED], cache=cache, now=testkit.NOW + timedelta(hours=2))
    assert later.cache_hits == 0
    assert cache.puts == [1, 1]


def test_score__candidate_changed_since_cached__recomputed() -> None:
    cache = DictCache()
    score([testkit.candidate(order_value=10)], [WEIGHTED], cache=cache)
    changed = score([testkit.candidate(order_value=1000)], [WEIGHTED], cache=cache)
    assert changed.cache_hits == 0
    fresh = score([testkit.candidate(order_value=1000)], [WEIGHTED]).envelope["candidates"][0]["scores"]
    assert changed.envelope["candidates"][0]["scores"] == fresh


def test_score__fallback_scores__not_cached() -> None:
    cache = DictCache()
    score([testkit.candidate()], [ModelConfig("bad", "neural", True, {})], cache=cache)
    assert cache.entries == {}


def test_score__cache_unavailable__scores_computed_and_error_reported() -> None:
    class Broken(DictCache):
        def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], scoring.CachedScore]:
            raise TransientStageError("dynamodb table ScoreCache: throttled")

    result = score([testkit.candidate()], [WEIGHTED], cache=Broken())
    assert result.envelope["metrics"]["scoredCount"] == 1
    assert result.cache_errors and "throttled" in result.cache_errors[0]


def test_score__no_models__candidates_pass_unscored() -> None:
    cands = [testkit.candidate()]
    result = score(copy.deepcopy(cands), [])
    assert result.envelope["candidates"] == cands
    assert result.envelope["metrics"]["scoredCount"] == 0


def test_score__known_features__documented_formula() -> None:
    cand = testkit.candidate(
        event_date=testkit.NOW - timedelta(days=7),
        order_value=100,
        channels={"email": True, "sms": True, "push": False},
    )
    value = score([cand], [WEIGHTED]).envelope["candidates"][0]["scores"]["propensity"]
    # recency 0.5 (one half-life), order 100/(100+100) = 0.5, channels 2/3; all three features present.
    assert value["value"] == round((0.5 * 0.5 + 0.3 * 0.5 + 0.2 * (2 / 3)) / 1.0, 6)
    assert value["confidence"] == 1.0


def test_score__same_candidates_shuffled__same_scores_per_candidate() -> None:
    cands = [testkit.candidate(f"C{i}", order_value=float(i)) for i in range(20)]
    shuffled = copy.deepcopy(cands)
    random.Random(7).shuffle(shuffled)
    by_id = lambda r: {c["customerId"]: c["scores"] for c in r.envelope["candidates"]}  # noqa: E731
    assert by_id(score(cands, [WEIGHTED])) == by_id(score(shuffled, [WEIGHTED]))
