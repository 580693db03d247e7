"""Filter stage logic (pure): ordered chain, first rejection wins, reason codes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import CandidateEnvelope, ContractError, FilterConfig, parse_program_config
from ceap_handlers.stages import filtering

from . import testkit


def chain_of(*filters: dict[str, Any]) -> list[tuple[str, filtering.Check]]:
    config = testkit.program_config(filterChain={"filters": list(filters)})
    return filtering.build_chain(parse_program_config(config, "ProgramConfig[PROGRAM#retail]"))


def f(filter_type: str, order: int = 1, filter_id: str | None = None, **parameters: Any) -> dict[str, Any]:
    return {
        "filterId": filter_id or filter_type,
        "filterType": filter_type,
        "enabled": True,
        "parameters": parameters,
        "order": order,
    }


def outcome(chain: list[tuple[str, filtering.Check]], cand: dict[str, Any]) -> str | None:
    result = filtering.apply_chain(chain, cand, testkit.NOW)
    return None if result is None else result[1]


@pytest.mark.parametrize(
    ("filter_def", "cand", "code"),
    [
        (
            f("eligibility", requiredChannels=["email", "sms"]),
            testkit.candidate(channels={"email": True, "sms": False}),
            "CHANNEL_INELIGIBLE",
        ),
        (f("eligibility", checkTimingWindow=True), testkit.candidate(), "TIMING_WINDOW_MISSING"),
        (f("business_rule", minOrderValue=10), testkit.candidate(order_value=None), "ORDER_VALUE_MISSING"),
        (f("business_rule", minOrderValue=10), testkit.candidate(order_value=9.99), "ORDER_VALUE_LOW"),
        (
            f("business_rule", maxDaysSinceEvent=30),
            testkit.candidate(event_date=testkit.NOW - timedelta(days=31)),
            "EVENT_TOO_OLD",
        ),
        (f("business_rule", requireDeliveryDate=True), testkit.candidate(), "DELIVERY_DATE_MISSING"),
        (f("trust"), testkit.candidate(), "TRUST_SCORE_MISSING"),
        (f("trust"), testkit.candidate(scores={"trust": testkit.score("trust", 0.4)}), "TRUST_SCORE_LOW"),
        (
            f("trust"),
            testkit.candidate(scores={"trust": testkit.score("trust", 0.9), "fraud": testkit.score("fraud", 0.51)}),
            "FRAUD_DETECTED",
        ),
        (f("quality"), testkit.candidate(), "QUALITY_SCORE_MISSING"),
        (f("quality"), testkit.candidate(scores={"p": testkit.score("p", 0.59)}), "QUALITY_SCORE_LOW"),
        (f("quality"), testkit.candidate(scores={"p": testkit.score("p", 0.8, 0.69)}), "CONFIDENCE_LOW"),
        (f("quality"), testkit.candidate(scores={"p": testkit.score("p", 0.8, None)}), "CONFIDENCE_LOW"),
    ],
)
def test_filter__failing_candidate__documented_reason_code(
    filter_def: dict[str, Any], cand: dict[str, Any], code: str
) -> None:
    assert outcome(chain_of(filter_def), cand) == code


@pytest.mark.parametrize(
    ("filter_def", "cand"),
    [
        (
            f("eligibility", requiredChannels=["email"], checkTimingWindow=True),
            testkit.candidate(timing_window="2026-01-01/2026-01-08"),
        ),
        (
            f("business_rule", minOrderValue=10, maxDaysSinceEvent=30, requireDeliveryDate=True),
            testkit.candidate(delivery_date=testkit.NOW),
        ),
        (
            f("trust"),
            testkit.candidate(scores={"trust": testkit.score("trust", 0.5), "fraud": testkit.score("fraud", 0.5)}),
        ),
        (
            f("quality", qualityModelId="q"),
            testkit.candidate(scores={"q": testkit.score("q", 0.6, 0.7), "p": testkit.score("p", 0.1)}),
        ),
    ],
)
def test_filter__candidate_at_thresholds__passes(filter_def: dict[str, Any], cand: dict[str, Any]) -> None:
    assert outcome(chain_of(filter_def), cand) is None


def test_filter__two_failing_filters__lowest_order_reported_only() -> None:
    chain = chain_of(
        f("business_rule", order=2, minOrderValue=100), f("eligibility", order=1, requiredChannels=["sms"])
    )
    result = filtering.run_filters(
        CandidateEnvelope("retail", "US", [testkit.candidate(order_value=5)]), chain, now=testkit.NOW
    )
    (rejected,) = result.envelope["rejectedCandidates"]
    assert (rejected["filterId"], rejected["reasonCode"]) == ("eligibility", "CHANNEL_INELIGIBLE")
    assert result.envelope["metrics"]["rejectionReasons"] == {"CHANNEL_INELIGIBLE": 1}


def test_filter__filter_raises__rejected_with_filter_error() -> None:
    def broken(candidate: Any, now: Any) -> None:
        raise RuntimeError("boom")

    result = filtering.run_filters(
        CandidateEnvelope("retail", "US", [testkit.candidate()]), [("broken", broken)], now=testkit.NOW
    )
    assert result.envelope["rejectedCandidates"][0]["reasonCode"] == "FILTER_ERROR"
    assert "boom" in result.envelope["rejectedCandidates"][0]["reason"]


def test_filter__unknown_filter_type__error_names_filter_path() -> None:
    with pytest.raises(ContractError) as raised:
        chain_of(f("velocity"))
    assert raised.value.field == "ProgramConfig[PROGRAM#retail].filterChain.filters[0].filterType"


@pytest.mark.parametrize(
    ("params", "name"), [({"minOrderValue": "ten"}, "minOrderValue"), ({"maxDaysSinceEvent": 0}, "maxDaysSinceEvent")]
)
def test_filter__invalid_parameter__error_names_parameter(params: dict[str, Any], name: str) -> None:
    with pytest.raises(ContractError) as raised:
        chain_of(f("business_rule", **params))
    assert raised.value.field.endswith(f"filters[0].parameters.{name}")


def test_filter__disabled_filter__not_run() -> None:
    disabled = {**f("eligibility", requiredChannels=["sms"]), "enabled": False}
    assert outcome(chain_of(disabled), testkit.candidate()) is None


min_orders = st.none() | st.floats(min_value=0, max_value=500, allow_nan=False)
required = st.lists(st.sampled_from(testkit.CHANNELS), unique=True, max_size=2)


@given(st.lists(testkit.candidates_st(), max_size=25), min_orders, required)
def test_filter__generated_candidates__rejections_match_rules_and_counts_add_up(
    cands: list[dict[str, Any]], min_order: float | None, channels: list[str]
) -> None:
    """Feature: ceap-handlers, Property: filter reason codes (docs/data.md "Filter")."""
    params = {} if min_order is None else {"minOrderValue": min_order}
    chain = chain_of(f("eligibility", order=1, requiredChannels=channels), f("business_rule", order=2, **params))
    result = filtering.run_filters(CandidateEnvelope("retail", "US", cands), chain, now=testkit.NOW)
    env = result.envelope
    expected_codes = []
    for cand in cands:
        flags = cand["attributes"]["channelEligibility"]
        value = cand["attributes"].get("orderValue")
        if any(flags.get(c) is not True for c in channels):
            expected_codes.append("CHANNEL_INELIGIBLE")
        elif min_order is not None and value is None:
            expected_codes.append("ORDER_VALUE_MISSING")
        elif min_order is not None and value < min_order:
            expected_codes.append("ORDER_VALUE_LOW")
        else:
            expected_codes.append(None)
    assert [r["reasonCode"] for r in env["rejectedCandidates"]] == [c for c in expected_codes if c]
    assert env["candidates"] == [cand for cand, code in zip(cands, expected_codes, strict=True) if code is None]
    metrics = env["metrics"]
    assert metrics["passedCount"] + metrics["rejectedCount"] == metrics["inputCount"] == len(cands)
    assert sum(metrics["rejectionReasons"].values()) == metrics["rejectedCount"]
    assert set(metrics["rejectionReasons"]) <= filtering.REASON_CODES


def test_filter_config__order_ties__keep_configured_position() -> None:
    program = parse_program_config(
        testkit.program_config(filterChain={"filters": [f("trust", 1, "a"), f("quality", 1, "b")]})
    )
    assert [c.filter_id for c in program.enabled_filters] == ["a", "b"]
    assert isinstance(program.enabled_filters[0], FilterConfig)
