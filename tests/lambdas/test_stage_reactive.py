"""Workflow Reactive stage logic (pure): the execution summary."""

from __future__ import annotations

from ceap_handlers.stages import reactive


def test_summarise__stage_outputs__totals_by_metric_not_name() -> None:
    outputs = {
        "Extract": {"metrics": {"processedCount": 10, "transformedCount": 8, "errorCount": 2}},
        "Sieve": {"metrics": {"inputCount": 8, "passedCount": 6, "rejectedCount": 2}},
        "HeavyETL": {"metrics": {"inputCount": 6, "outputCount": 5, "droppedCount": 1, "droppedReasons": {"x": 1}}},
        "Rank": {"metrics": {"inputCount": 5, "scoredCount": 4, "fallbackCount": 1, "errorCount": 1}},
        "Persist": {"metrics": {"storedCount": 4, "failedCount": 1}, "success": False},
    }
    summary = reactive.summarise(outputs, execution_id="e1", program_id="retail", marketplace="US")
    assert summary == {
        "programId": "retail",
        "marketplace": "US",
        "executionId": "e1",
        "totalProcessed": 10,
        "totalStored": 4,
        "totalRejected": 3,
        "totalErrors": 4,
        "success": False,
        "stages": ["Extract", "HeavyETL", "Persist", "Rank", "Sieve"],
    }
    assert set(reactive.event_detail(summary)) == set(summary) - {"stages"}


def test_summarise__malformed_outputs__ignored_not_crashing() -> None:
    summary = reactive.summarise(
        {
            "A": "text",
            "B": {"metrics": "x"},
            "C": {"metrics": {"storedCount": "7"}},
            "D": {"metrics": {"storedCount": 2}, "success": True},
        },
        execution_id="e",
        program_id="p",
        marketplace="m",
    )
    assert (summary["totalStored"], summary["success"]) == (2, True)


def test_summarise__step_copies_predecessor_metrics__counted_once() -> None:
    filtered = {"metrics": {"inputCount": 8, "passedCount": 5, "rejectedCount": 3}, "candidates": []}
    summary = reactive.summarise(
        {
            "Filter": filtered,
            "HeavyETL": dict(filtered),
            "Store": {"metrics": {"storedCount": 5, "failedCount": 0}, "success": True},
        },
        execution_id="e",
        program_id="p",
        marketplace="m",
    )
    assert (summary["totalRejected"], summary["totalStored"]) == (3, 5)
    assert summary["stages"] == ["Filter", "HeavyETL", "Store"]
