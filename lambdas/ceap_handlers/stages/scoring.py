"""Score stage: deterministic model scores with a score cache (docs/data.md "Score").

A model scores three features of the candidate:

- ``recency``: ``0.5 ** (days / recencyHalfLifeDays)``, days from ``attributes.eventDate`` to
  ``metadata.createdAt`` (the candidate's own clock, so re-scoring the same candidate gives the
  same value whenever it runs);
- ``orderValue``: ``v / (v + orderValueScale)`` (0 without an order value);
- ``channelCount``: eligible channels / ``maxChannels``, capped at 1.

Model types: ``weighted`` (default): weighted mean of the features with non-negative weights;
``logistic``: ``sigmoid(bias + sum(w * f))``. Confidence is the share of features the candidate
actually has (recency always; order value; at least one channel). Values are rounded to 6
decimals. A model that fails (unknown type, bad weights, any exception) gives the fallback score
0.5 / confidence 0.1 with ``metadata.fallback = true``; fallbacks are never cached.

The cache is an optimisation only: a cached score is used when its ``ttl`` is in the future and
its ``inputHash`` (features + model configuration) matches, so a changed candidate or model is
rescored; cache failures are reported and scoring goes on without it. Candidates from the Glue
step may carry a top-level ``features`` object: it is passed through and not used, so a score
does not depend on which path the candidate took.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from ceap_handlers.contract.candidate import CandidateEnvelope
from ceap_handlers.contract.fields import is_number
from ceap_handlers.contract.instants import epoch_seconds, format_instant, parse_instant
from ceap_handlers.contract.items import score_cache_keys
from ceap_handlers.contract.program_config import ModelConfig
from ceap_handlers.errors import StageError

FALLBACK_VALUE: Final = 0.5
FALLBACK_CONFIDENCE: Final = 0.1
FEATURES: Final = ("recency", "orderValue", "channelCount")
DEFAULT_WEIGHTS: Final = {"recency": 0.5, "orderValue": 0.3, "channelCount": 0.2}
DEFAULT_HALF_LIFE_DAYS: Final = 7.0
DEFAULT_ORDER_VALUE_SCALE: Final = 100.0
DEFAULT_MAX_CHANNELS: Final = 3


class ModelError(ValueError):
    """A model cannot score (bad configuration or input): the candidate gets the fallback."""


@dataclass(frozen=True)
class Features:
    """Model inputs of one candidate."""

    recency_days: float
    order_value: float | None
    channel_count: int

    def key(self) -> tuple[float, float | None, int]:
        # Rounded so that the cache hash is stable across float noise.
        return (
            round(self.recency_days, 6),
            None if self.order_value is None else round(self.order_value, 6),
            self.channel_count,
        )


def _moment(text: str) -> datetime:
    # The candidate was validated: a plain fromisoformat is enough and 10x cheaper than parse_instant.
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return parse_instant(text, "instant")  # surrounding blanks, which the contract tolerates
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def candidate_features(candidate: Mapping[str, Any]) -> Features:
    """Extract the features of a validated candidate."""
    attributes = candidate["attributes"]
    event = _moment(attributes["eventDate"])
    created = _moment(candidate["metadata"]["createdAt"])
    days = max(0.0, (created - event).total_seconds() / 86400)
    order_value = attributes.get("orderValue")
    channels = attributes.get("channelEligibility") or {}
    return Features(
        recency_days=days,
        order_value=float(order_value) if order_value is not None else None,
        channel_count=[flag is True for flag in channels.values()].count(True),
    )


# A compiled model: features -> (value, confidence). Compiling validates the configuration once.
Scorer = Callable[[Features], tuple[float, float]]


def _config_number(config: Mapping[str, Any], name: str, default: float, *, positive: bool) -> float:
    value = config.get(name, default)
    if not is_number(value) or (positive and value <= 0):
        raise ModelError(f"modelConfig.{name} must be a {'positive ' if positive else ''}number, got {value!r:.40}")
    return float(value)


def compile_model(model: ModelConfig) -> Scorer:
    """Validate a model's configuration and return its scoring function.

    Raises
    ------
    ModelError
        Unknown ``modelType`` or invalid ``modelConfig``.
    """
    config = model.model_config
    kind = model.model_type.strip().lower()
    if kind not in {"weighted", "logistic"}:
        raise ModelError(f"unknown modelType {model.model_type!r} (supported: weighted, logistic)")
    raw_weights = config.get("weights", DEFAULT_WEIGHTS)
    if not isinstance(raw_weights, Mapping):
        raise ModelError("modelConfig.weights must be an object")
    unknown = sorted(set(raw_weights) - set(FEATURES))
    if unknown:
        raise ModelError(f"modelConfig.weights has unknown features {unknown} (known: {', '.join(FEATURES)})")
    weights = {name: raw_weights.get(name, 0.0) for name in FEATURES}
    if not all(is_number(w) for w in weights.values()):
        raise ModelError("modelConfig.weights must be finite numbers")
    half_life = _config_number(config, "recencyHalfLifeDays", DEFAULT_HALF_LIFE_DAYS, positive=True)
    scale = _config_number(config, "orderValueScale", DEFAULT_ORDER_VALUE_SCALE, positive=True)
    max_channels = _config_number(config, "maxChannels", DEFAULT_MAX_CHANNELS, positive=True)
    w_recency, w_order, w_channels = (float(weights[name]) for name in FEATURES)

    def feature_values(features: Features) -> tuple[float, float, float, float]:
        recency = 0.5 ** (features.recency_days / half_life)
        order = (
            features.order_value / (features.order_value + scale)
            if features.order_value and features.order_value > 0
            else 0.0
        )
        channels = min(1.0, features.channel_count / max_channels)
        present = 1 + (features.order_value is not None) + (features.channel_count > 0)
        return recency, order, channels, present / 3

    if kind == "weighted":
        total = w_recency + w_order + w_channels
        if min(w_recency, w_order, w_channels) < 0 or total <= 0:
            raise ModelError("weighted model needs non-negative weights with a positive sum")

        def weighted(features: Features) -> tuple[float, float]:
            recency, order, channels, confidence = feature_values(features)
            value = (w_recency * recency + w_order * order + w_channels * channels) / total
            return round(min(1.0, max(0.0, value)), 6), round(confidence, 6)

        return weighted

    bias = _config_number(config, "bias", 0.0, positive=False)

    def logistic(features: Features) -> tuple[float, float]:
        recency, order, channels, confidence = feature_values(features)
        z = bias + w_recency * recency + w_order * order + w_channels * channels
        value = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        return round(value, 6), round(confidence, 6)

    return logistic


def input_hash(model: ModelConfig, features: Features) -> str:
    """Fingerprint of what a score depends on: the features and the model configuration."""
    payload = json.dumps([model.model_type, model.model_config, features.key()], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CachedScore:
    """An entry of the ScoreCache table."""

    pk: str
    sk: str
    model_id: str
    value: float
    confidence: float
    timestamp: str
    input_hash: str
    ttl: int


class ScoreCache(Protocol):
    """The score cache port (DynamoDB in production, a dict in tests)."""

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], CachedScore]: ...

    def put_many(self, entries: Sequence[CachedScore]) -> None: ...


@dataclass
class ScoreResult:
    envelope: dict[str, Any]
    cache_hits: int = 0
    cache_errors: list[str] = field(default_factory=list)
    model_errors: dict[str, str] = field(default_factory=dict)


def _fallback(model_id: str, now_text: str, reason: str) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "value": FALLBACK_VALUE,
        "confidence": FALLBACK_CONFIDENCE,
        "timestamp": now_text,
        "metadata": {"fallback": True, "reason": reason[:200]},
    }


def score_candidates(
    envelope: CandidateEnvelope,
    models: Sequence[ModelConfig],
    *,
    now: datetime,
    cache: ScoreCache | None = None,
    cache_ttl_hours: float = 24,
) -> ScoreResult:
    """Score every candidate with every enabled model.

    Parameters
    ----------
    envelope : CandidateEnvelope
        Validated input (from Filter or the Glue step).
    models : sequence of ModelConfig
        The program's enabled models.
    now : datetime
        Score timestamps and cache freshness.
    cache : ScoreCache, optional
        Read before scoring, written with the fresh (non-fallback) scores.
    cache_ttl_hours : float
        Lifetime of new cache entries.

    Returns
    -------
    ScoreResult
        Envelope ``{candidates, metrics{inputCount, scoredCount, fallbackCount, errorCount,
        cacheHitCount}, programId, marketplace}``: ``scoredCount`` counts candidates scored by
        every model, ``fallbackCount`` fallback scores, ``errorCount`` candidates with at least one.
    """
    now_text = format_instant(now)
    now_epoch = epoch_seconds(now)
    ttl = epoch_seconds(now + timedelta(hours=cache_ttl_hours))
    result = ScoreResult({})

    compiled: list[tuple[ModelConfig, Scorer | None]] = []
    for model in models:
        try:
            compiled.append((model, compile_model(model)))
        except ModelError as exc:
            result.model_errors[model.model_id] = str(exc)
            compiled.append((model, None))

    features = [candidate_features(c) for c in envelope.candidates]
    use_cache = cache is not None and bool(compiled) and bool(envelope.candidates)
    # Keys and hashes cost time per candidate: only computed when there is a cache to ask.
    hashes = [[input_hash(model, f) for model, _ in compiled] for f in features] if use_cache else []
    keys = (
        [
            [score_cache_keys(c["customerId"], c["subject"]["id"], m.model_id) for m, _ in compiled]
            for c in envelope.candidates
        ]
        if use_cache
        else []
    )

    cached: dict[tuple[str, str], CachedScore] = {}
    if use_cache and cache is not None:
        wanted = [key for row in keys for key in row]
        try:
            cached = cache.get_many(list(dict.fromkeys(wanted)))
        except StageError as exc:
            result.cache_errors.append(f"read: {exc}")

    scored_out: list[dict[str, Any]] = []
    new_entries: dict[tuple[str, str], CachedScore] = {}
    fallback_count = error_count = scored_count = 0
    for i, candidate in enumerate(envelope.candidates):
        scores = dict(candidate.get("scores") or {})
        had_fallback = False
        for j, (model, scorer) in enumerate(compiled):
            entry = cached.get(keys[i][j]) if use_cache else None
            if entry is not None and entry.ttl > now_epoch and entry.input_hash == hashes[i][j]:
                result.cache_hits += 1
                scores[model.model_id] = {
                    "modelId": model.model_id,
                    "value": entry.value,
                    "confidence": entry.confidence,
                    "timestamp": entry.timestamp,
                }
                continue
            try:
                if scorer is None:
                    raise ModelError(result.model_errors[model.model_id])
                value, confidence = scorer(features[i])
                if not (0.0 <= value <= 1.0 and 0.0 <= confidence <= 1.0):
                    raise ModelError(f"score out of range: {value}, {confidence}")
            except Exception as exc:
                scores[model.model_id] = _fallback(model.model_id, now_text, f"{type(exc).__name__}: {exc}")
                fallback_count += 1
                had_fallback = True
                continue
            scores[model.model_id] = {
                "modelId": model.model_id,
                "value": value,
                "confidence": confidence,
                "timestamp": now_text,
            }
            if use_cache:
                pk, sk = keys[i][j]
                new_entries[(pk, sk)] = CachedScore(
                    pk, sk, model.model_id, value, confidence, now_text, hashes[i][j], ttl
                )
        if had_fallback:
            error_count += 1
        elif compiled:
            scored_count += 1
        out = dict(candidate)
        if compiled or "scores" in candidate:
            out["scores"] = scores
        scored_out.append(out)

    if cache is not None and new_entries:
        try:
            cache.put_many(list(new_entries.values()))
        except StageError as exc:
            result.cache_errors.append(f"write: {exc}")

    result.envelope = {
        "candidates": scored_out,
        "metrics": {
            "inputCount": len(envelope.candidates),
            "scoredCount": scored_count,
            "fallbackCount": fallback_count,
            "errorCount": error_count,
            "cacheHitCount": result.cache_hits,
        },
        "programId": envelope.program_id,
        "marketplace": envelope.marketplace,
    }
    return result
