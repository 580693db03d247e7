"""Reactive workflow stage: summarise an execution's stage outputs (docs/data.md "Reactive").

Stage names come from configuration, so outputs are recognised by their metrics, not by name:
``processedCount`` (extraction), ``rejectedCount`` (filtering) and ``droppedCount`` (the Glue
HeavyETL step), ``storedCount`` / ``failedCount`` (storing), ``errorCount`` (row or model errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ceap_handlers.contract.fields import is_number


def _metric(output: Mapping[str, Any], name: str) -> int:
    metrics = output.get("metrics")
    if not isinstance(metrics, Mapping):
        return 0
    value = metrics.get(name)
    return int(value) if is_number(value) else 0


def summarise(outputs: Mapping[str, Any], *, execution_id: str, program_id: str, marketplace: str) -> dict[str, Any]:
    """Summarise the outputs of an execution's earlier stages.

    Parameters
    ----------
    outputs : mapping
        Stage name → that stage's output object (non-objects are ignored).
    execution_id, program_id, marketplace : str
        Identify the run.

    Returns
    -------
    dict
        ``{programId, marketplace, executionId, totalProcessed, totalStored, totalRejected,
        totalErrors, success, stages}``. ``success`` is false when a stage reported
        ``success: false`` (the Store stage with unwritten candidates).
    """
    envelopes = {name: out for name, out in outputs.items() if isinstance(out, Mapping)}
    # A step that passes its predecessor's envelope through (the Glue step may copy the Filter
    # output, metrics included) must not count the same figures twice.
    counted: list[Mapping[str, Any]] = []
    seen_metrics: list[Any] = []
    for name in sorted(envelopes):
        metrics = envelopes[name].get("metrics")
        if metrics and metrics in seen_metrics:
            continue
        seen_metrics.append(metrics)
        counted.append(envelopes[name])
    total_processed = sum(_metric(out, "processedCount") for out in counted)
    total_rejected = sum(_metric(out, "rejectedCount") + _metric(out, "droppedCount") for out in counted)
    total_stored = sum(_metric(out, "storedCount") for out in counted)
    total_errors = sum(_metric(out, "errorCount") + _metric(out, "failedCount") for out in counted)
    success = all(out.get("success") is not False for out in envelopes.values())
    return {
        "programId": program_id,
        "marketplace": marketplace,
        "executionId": execution_id,
        "totalProcessed": total_processed,
        "totalStored": total_stored,
        "totalRejected": total_rejected,
        "totalErrors": total_errors,
        "success": success,
        "stages": sorted(envelopes),
    }


def event_detail(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``WorkflowCompleted`` event detail: the summary's documented fields."""
    keys = (
        "programId",
        "marketplace",
        "executionId",
        "totalProcessed",
        "totalStored",
        "totalRejected",
        "totalErrors",
        "success",
    )
    return {key: summary[key] for key in keys}
