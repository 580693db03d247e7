"""``--format json``: the stable contract documented in the README ("Reviewing a pull request's artifacts")."""

from __future__ import annotations

import json
from typing import Any

from ceap_templates.diff.model import Report
from ceap_templates.diff.paths import format_path


def as_data(report: Report) -> dict[str, list[dict[str, Any]]]:
    """The four lists of the contract, in a stable order; identical builds give empty lists."""
    return {
        "changes": [
            {
                "environment": c.environment,
                "layout": c.layout,
                "stack": c.stack,
                "logicalId": c.logical_id,
                "type": c.type,
                "action": c.action,
                "replacement": c.replacement,
                "dataLoss": c.data_loss,
                "paths": [format_path(p.path) for p in c.paths],
            }
            for c in report.changes
        ],
        "exports": [
            {
                "environment": x.environment,
                "stack": x.stack,
                "name": x.name,
                "action": x.action,
                "importedBy": list(x.imported_by),
            }
            for x in report.exports
        ],
        "security": [
            {
                "environment": s.environment,
                "stack": s.stack,
                "logicalId": s.logical_id,
                "broadened": s.broadened,
                "added": list(s.added),
                "removed": list(s.removed),
            }
            for s in report.security
        ],
        "waves": [
            {
                "environment": w.environment,
                "layout": w.layout,
                "before": [list(x) for x in w.before],
                "after": [list(x) for x in w.after],
            }
            for w in report.waves
        ],
    }


def render(report: Report) -> str:
    return json.dumps(as_data(report), indent=2) + "\n"
