"""Store stage logic (pure): chunks of 25, retries of unprocessed items, idempotent items."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_handlers.contract import CandidateEnvelope
from ceap_handlers.stages import storing

from . import testkit


class FakeTable:
    """BatchWriteItem port that leaves chosen items unprocessed for a number of calls."""

    def __init__(self, stubborn: dict[str, int] | None = None) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[int] = []
        self.stubborn = dict(stubborn or {})  # customerId -> calls that leave it unprocessed

    def write_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert len(items) <= 25
        self.calls.append(len(items))
        unprocessed = []
        for item in items:
            if self.stubborn.get(item["customerId"], 0) > 0:
                self.stubborn[item["customerId"]] -= 1
                unprocessed.append(item)
            else:
                self.items[(item["PK"], item["SK"])] = item
        return unprocessed


def store(
    cands: list[dict[str, Any]], table: FakeTable, sleeps: list[float] | None = None, **kwargs: Any
) -> storing.StoreResult:
    recorded = sleeps if sleeps is not None else []
    return storing.store_candidates(
        CandidateEnvelope("retail", "US", cands), table.write_batch, sleep=recorded.append, jitter=lambda: 1.0, **kwargs
    )


def test_store__60_candidates__three_chunks_of_at_most_25() -> None:
    table = FakeTable()
    result = store([testkit.candidate(f"C{i}") for i in range(60)], table)
    assert table.calls == [25, 25, 10]
    assert result.envelope["metrics"]["storedCount"] == 60
    assert result.envelope["success"] is True


def test_store__unprocessed_items__retried_then_reported() -> None:
    sleeps: list[float] = []
    table = FakeTable(stubborn={"C1": 1, "C2": 99})
    result = store([testkit.candidate(f"C{i}") for i in range(4)], table, sleeps)
    metrics = result.envelope["metrics"]
    assert table.calls == [4, 2, 1]  # C1 written on the 2nd attempt, C2 never
    assert sleeps == [0.1, 0.2]  # exponential backoff (jitter pinned to its maximum)
    assert (metrics["storedCount"], metrics["failedCount"]) == (3, 1)
    assert metrics["failedCandidates"] == [
        {
            "customerId": "C2",
            "PK": "CUSTOMER#C2#PROGRAM#retail#MARKETPLACE#US",
            "SK": "SUBJECT#product#B001",
            "reason": "UNPROCESSED_AFTER_RETRIES",
        }
    ]
    assert result.envelope["success"] is False


def test_store__parallel_writers__same_items_as_sequential() -> None:
    cands = [testkit.candidate(f"C{i}") for i in range(130)]
    sequential, parallel = FakeTable(), FakeTable()
    store(copy.deepcopy(cands), sequential)
    result = store(copy.deepcopy(cands), parallel, max_workers=4)
    assert parallel.items == sequential.items
    assert sorted(parallel.calls) == sorted(sequential.calls)
    assert result.envelope["metrics"]["storedCount"] == 130


def test_store__same_key_twice__last_candidate_wins_and_counted() -> None:
    table = FakeTable()
    older, newer = testkit.candidate(order_value=1), testkit.candidate(order_value=2)
    result = store([older, newer], table)
    (item,) = table.items.values()
    assert '"orderValue":2' in item["data"]
    assert result.envelope["metrics"]["supersededCount"] == 1


@given(st.lists(testkit.candidates_st(), max_size=60))
def test_store__rerun_same_input__identical_items(cands: list[dict[str, Any]]) -> None:
    """Feature: ceap-handlers, Property: Store is idempotent (same execution, same items)."""
    first, second = FakeTable(), FakeTable()
    store(copy.deepcopy(cands), first)
    store(copy.deepcopy(cands), second)
    assert first.items == second.items
    keys = {
        (
            f"CUSTOMER#{c['customerId']}#PROGRAM#retail#MARKETPLACE#US",
            f"SUBJECT#{c['subject']['type']}#{c['subject']['id']}",
        )
        for c in cands
    }
    assert set(first.items) == keys
    assert all(n <= 25 for n in first.calls)
