"""Filter stage: the program's ordered filter chain with reason codes (docs/data.md "Filter").

Each enabled filter runs in ``order``; the first rejection stops the chain for that candidate; a
filter that raises rejects with ``FILTER_ERROR``. Filter parameters are validated when the chain
is built, so a misconfigured program fails the stage (permanent, naming the parameter) instead
of silently rejecting every candidate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ceap_handlers.contract.candidate import CandidateEnvelope
from ceap_handlers.contract.fields import ContractError, is_number
from ceap_handlers.contract.instants import parse_instant
from ceap_handlers.contract.program_config import FilterConfig, ProgramConfig

CHANNEL_INELIGIBLE: Final = "CHANNEL_INELIGIBLE"
TIMING_WINDOW_MISSING: Final = "TIMING_WINDOW_MISSING"
ORDER_VALUE_MISSING: Final = "ORDER_VALUE_MISSING"
ORDER_VALUE_LOW: Final = "ORDER_VALUE_LOW"
EVENT_TOO_OLD: Final = "EVENT_TOO_OLD"
DELIVERY_DATE_MISSING: Final = "DELIVERY_DATE_MISSING"
TRUST_SCORE_MISSING: Final = "TRUST_SCORE_MISSING"
TRUST_SCORE_LOW: Final = "TRUST_SCORE_LOW"
FRAUD_DETECTED: Final = "FRAUD_DETECTED"
QUALITY_SCORE_MISSING: Final = "QUALITY_SCORE_MISSING"
QUALITY_SCORE_LOW: Final = "QUALITY_SCORE_LOW"
CONFIDENCE_LOW: Final = "CONFIDENCE_LOW"
FILTER_ERROR: Final = "FILTER_ERROR"

REASON_CODES: Final = frozenset(
    {
        CHANNEL_INELIGIBLE,
        TIMING_WINDOW_MISSING,
        ORDER_VALUE_MISSING,
        ORDER_VALUE_LOW,
        EVENT_TOO_OLD,
        DELIVERY_DATE_MISSING,
        TRUST_SCORE_MISSING,
        TRUST_SCORE_LOW,
        FRAUD_DETECTED,
        QUALITY_SCORE_MISSING,
        QUALITY_SCORE_LOW,
        CONFIDENCE_LOW,
        FILTER_ERROR,
    }
)

#: ``(reasonCode, reason)`` of a rejection.
Rejection = tuple[str, str]
#: A configured filter: ``check(candidate, now)`` returns a rejection or ``None`` (pass).
Check = Callable[[Mapping[str, Any], datetime], Rejection | None]


# --------------------------------------------------------------------------------------------
# Parameter parsing
# --------------------------------------------------------------------------------------------


class _Params:
    """Typed access to a filter's ``parameters`` with errors naming the parameter."""

    def __init__(self, config: FilterConfig) -> None:
        self._values = config.parameters
        self._path = f"{config.path}.parameters" if config.path else f"filter {config.filter_id}.parameters"

    def _error(self, name: str, expected: str) -> ContractError:
        return ContractError(f"{self._path}.{name}", f"expected {expected}, got {self._values[name]!r:.40}")

    def number(
        self, name: str, default: float | None = None, *, unit: bool = False, positive: bool = False
    ) -> float | None:
        value = self._values.get(name)
        if value is None:
            return default
        if not is_number(value) or (unit and not 0 <= value <= 1) or (positive and value <= 0) or value < 0:
            raise self._error(
                name, "a number between 0 and 1" if unit else "a positive number" if positive else "a number >= 0"
            )
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._error(name, "true or false")
        return value

    def text(self, name: str, default: str | None) -> str | None:
        value = self._values.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise self._error(name, "a non-empty string")
        return value

    def strings(self, name: str) -> list[str]:
        value = self._values.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._error(name, "a list of non-empty strings")
        return value


def _score(candidate: Mapping[str, Any], model_id: str) -> Mapping[str, Any] | None:
    scores = candidate.get("scores") or {}
    return scores.get(model_id)


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def eligibility_filter(config: FilterConfig) -> Check:
    """``requiredChannels`` (all must be eligible) and ``checkTimingWindow`` (default false)."""
    params = _Params(config)
    required = params.strings("requiredChannels")
    check_timing = params.flag("checkTimingWindow", False)

    def check(candidate: Mapping[str, Any], now: datetime) -> Rejection | None:
        attributes = candidate["attributes"]
        eligibility = attributes.get("channelEligibility") or {}
        missing = [channel for channel in required if eligibility.get(channel) is not True]
        if missing:
            return CHANNEL_INELIGIBLE, f"not eligible for required channels: {', '.join(missing)}"
        if check_timing and not attributes.get("timingWindow"):
            return TIMING_WINDOW_MISSING, "timing window not specified"
        return None

    return check


def business_rule_filter(config: FilterConfig) -> Check:
    """``minOrderValue``, ``maxDaysSinceEvent`` and ``requireDeliveryDate``."""
    params = _Params(config)
    min_order = params.number("minOrderValue")
    max_days = params.number("maxDaysSinceEvent", positive=True)
    require_delivery = params.flag("requireDeliveryDate", False)

    def check(candidate: Mapping[str, Any], now: datetime) -> Rejection | None:
        attributes = candidate["attributes"]
        if min_order is not None:
            order_value = attributes.get("orderValue")
            if order_value is None:
                return ORDER_VALUE_MISSING, "order value missing"
            if order_value < min_order:
                return ORDER_VALUE_LOW, f"order value {order_value} below minimum {min_order}"
        if max_days is not None:
            event = parse_instant(attributes["eventDate"], "attributes.eventDate")
            age_days = (now - event).total_seconds() / 86400
            if age_days > max_days:
                return EVENT_TOO_OLD, f"event {age_days:.1f} days old, maximum {max_days}"
        if require_delivery and not attributes.get("deliveryDate"):
            return DELIVERY_DATE_MISSING, "delivery date missing"
        return None

    return check


def trust_filter(config: FilterConfig) -> Check:
    """Trust score of model ``trustModelId`` ("trust") >= ``minTrustScore`` (0.5); fraud score of
    ``fraudModelId`` ("fraud"), when present, must not exceed ``maxFraudScore`` (0.5)."""
    params = _Params(config)
    min_trust = params.number("minTrustScore", 0.5, unit=True)
    max_fraud = params.number("maxFraudScore", 0.5, unit=True)
    trust_model = params.text("trustModelId", "trust") or "trust"
    fraud_model = params.text("fraudModelId", "fraud") or "fraud"

    def check(candidate: Mapping[str, Any], now: datetime) -> Rejection | None:
        trust = _score(candidate, trust_model)
        if trust is None:
            return TRUST_SCORE_MISSING, f"no score of model {trust_model}"
        if trust["value"] < min_trust:
            return TRUST_SCORE_LOW, f"trust score {trust['value']} below {min_trust}"
        fraud = _score(candidate, fraud_model)
        if fraud is not None and fraud["value"] > max_fraud:
            return FRAUD_DETECTED, f"fraud score {fraud['value']} above {max_fraud}"
        return None

    return check


def quality_filter(config: FilterConfig) -> Check:
    """Score of ``qualityModelId`` (default: the candidate's best score) >= ``minQualityScore``
    (0.6) with confidence >= ``minConfidence`` (0.7; a score without confidence fails it)."""
    params = _Params(config)
    min_quality = params.number("minQualityScore", 0.6, unit=True)
    min_confidence = params.number("minConfidence", 0.7, unit=True)
    model_id = params.text("qualityModelId", None)

    def check(candidate: Mapping[str, Any], now: datetime) -> Rejection | None:
        if model_id is not None:
            score = _score(candidate, model_id)
        else:
            scores = list((candidate.get("scores") or {}).values())
            score = max(scores, key=lambda s: s["value"]) if scores else None
        if score is None:
            return QUALITY_SCORE_MISSING, f"no score of model {model_id}" if model_id else "no scores"
        if score["value"] < min_quality:
            return QUALITY_SCORE_LOW, f"quality score {score['value']} below {min_quality}"
        confidence = score.get("confidence")
        if confidence is None or confidence < min_confidence:
            return CONFIDENCE_LOW, f"confidence {confidence} below {min_confidence}"
        return None

    return check


FILTER_TYPES: Final[dict[str, Callable[[FilterConfig], Check]]] = {
    "eligibility": eligibility_filter,
    "business_rule": business_rule_filter,
    "trust": trust_filter,
    "quality": quality_filter,
}


def build_chain(program: ProgramConfig) -> list[tuple[str, Check]]:
    """The program's enabled filters in order, as ``(filterId, check)``.

    Raises
    ------
    ContractError
        Unknown filter type or invalid parameter, naming it.
    """
    chain = []
    for config in program.enabled_filters:
        kind = config.filter_type.strip().lower().replace("-", "_")
        factory = FILTER_TYPES.get(kind)
        if factory is None:
            raise ContractError(
                f"{config.path}.filterType" if config.path else "filterType",
                f"{config.filter_type!r} is not one of {', '.join(FILTER_TYPES)}",
            )
        chain.append((config.filter_id, factory(config)))
    return chain


def apply_chain(
    chain: list[tuple[str, Check]], candidate: Mapping[str, Any], now: datetime
) -> tuple[str, str, str] | None:
    """Run a chain on one candidate; ``(filterId, reasonCode, reason)`` of the first rejection."""
    for filter_id, check in chain:
        try:
            rejection = check(candidate, now)
        except Exception as exc:
            return filter_id, FILTER_ERROR, f"filter raised {type(exc).__name__}: {exc}"
        if rejection is not None:
            return filter_id, rejection[0], rejection[1]
    return None


@dataclass
class FilterResult:
    envelope: dict[str, Any]


def run_filters(envelope: CandidateEnvelope, chain: list[tuple[str, Check]], *, now: datetime) -> FilterResult:
    """Run the filter chain over an envelope's candidates.

    Parameters
    ----------
    envelope : CandidateEnvelope
        Validated input.
    chain : list
        From :func:`build_chain`.
    now : datetime
        Reference time of ``maxDaysSinceEvent``.
    """
    passed: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    for candidate in envelope.candidates:
        outcome = apply_chain(chain, candidate, now)
        if outcome is None:
            passed.append(candidate)
            continue
        filter_id, code, reason = outcome
        reasons[code] += 1
        rejected.append(
            {
                "customerId": candidate["customerId"],
                "subjectId": candidate["subject"]["id"],
                "filterId": filter_id,
                "reason": reason,
                "reasonCode": code,
            }
        )
    return FilterResult(
        {
            "candidates": passed,
            "rejectedCandidates": rejected,
            "metrics": {
                "inputCount": len(envelope.candidates),
                "passedCount": len(passed),
                "rejectedCount": len(rejected),
                "rejectionReasons": dict(sorted(reasons.items())),
            },
            "programId": envelope.program_id,
            "marketplace": envelope.marketplace,
        }
    )
