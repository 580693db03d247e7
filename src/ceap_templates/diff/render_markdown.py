"""Markdown for a pull-request comment: the summary table first, then details collapsed per stack."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ceap_templates.diff.model import ExportChange, Report, ResourceChange
from ceap_templates.diff.paths import MISSING, format_path

MAX_VALUE = 240
_PAST = {"add": "added", "remove": "removed", "modify": "changed"}
Row = tuple[str, str, str]  # environment, layout, stack


def _code(value: Any) -> str:
    if value is MISSING:
        return "*(absent)*"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_VALUE:
        text = text[: MAX_VALUE - 1] + "…"
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _consequence(change: ResourceChange) -> list[str]:
    found: list[str] = []
    if change.action == "modify" and change.replacement != "never":
        found.append("replacement" if change.replacement == "always" else "conditional replacement")
    if change.data_loss:
        found.append("**data loss**")
    elif change.fate == "orphaned":
        found.append("orphaned: data stays in a resource no stack manages")
    elif change.fate == "snapshot":
        found.append("snapshot kept")
    found += [f"**{n}**" if n.startswith("will fail") else n for n in change.notes]
    return found


def _row_of(change: ResourceChange) -> Row:
    return (change.environment, change.layout, change.stack)


def _summary(report: Report) -> list[str]:
    counts: dict[Row, dict[str, int]] = {}
    alerts: dict[Row, list[str]] = {}
    remarks: dict[Row, list[str]] = {}
    for stack in report.stacks:
        row = (stack.environment, stack.layout, stack.stack)
        counts.setdefault(row, {})
        if stack.status != "modified":
            remarks.setdefault(row, []).append(f"stack {stack.status}")
    for change in report.changes:
        row = _row_of(change)
        column = {"add": "created", "remove": "deleted"}.get(change.action, "updated")
        if change.action == "modify" and change.replacement != "never":
            column = "replaced"
        tally = counts.setdefault(row, {})
        tally[column] = tally.get(column, 0) + 1
        if change.data_loss:
            alerts.setdefault(row, []).append(f"data loss: {change.logical_id}")
        if change.will_fail:
            alerts.setdefault(row, []).append(f"deploy will fail: {change.logical_id} (custom name)")
        if "code changed" in change.notes:
            remarks.setdefault(row, []).append(f"code changed: {change.logical_id}")
    for export in report.exports:
        rows = [r for r in counts if r[0] == export.environment and r[2] == export.stack] or [
            (export.environment, "-", export.stack)
        ]
        for row in rows:
            counts.setdefault(row, {})
            if export.will_fail:
                users = ", ".join(export.imported_by)
                alerts.setdefault(row, []).append(
                    f"deploy will fail: export {export.name} {_PAST[export.action]}, imported by {users}"
                )
    for note in report.notes:
        row = (note.environment, note.layout, note.stack)
        counts.setdefault(row, {})
        if note.will_fail:
            alerts.setdefault(row, []).append(f"deploy will fail: {note.text}")
        elif note.kind == "weak reference broken":
            alerts.setdefault(row, []).append(f"breaks at run time: {note.text}")
    for item in report.security:
        if item.broadened:
            for row in [r for r in counts if r[0] == item.environment and r[2] == item.stack]:
                remarks.setdefault(row, []).append(f"access broadened: {item.logical_id}")
    ordered = sorted(counts, key=lambda r: (r not in alerts, r))
    lines = [
        "| stack | created | updated | replaced | deleted | consequence |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in ordered:
        tally = counts[row]
        bold = row in alerts
        cells = [f"{row[0]} · {row[1]} · {row[2]}"]
        cells += [str(tally.get(k, 0)) for k in ("created", "updated", "replaced", "deleted")]
        cells.append("; ".join(dict.fromkeys([*alerts.get(row, []), *remarks.get(row, [])])))
        if bold:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _resource_details(change: ResourceChange) -> list[str]:
    consequence = ", ".join(_consequence(change))
    head = f"- `{change.logical_id}` ({change.type}): **{change.action}**"
    lines = [head + (f" — {consequence}" if consequence else "")]
    for path in change.paths:
        marker = f" *(create-only: {path.replacement})*" if path.replacement != "never" else ""
        lines.append(f"  - `{format_path(path.path)}`{marker}: {_code(path.before)} → {_code(path.after)}")
    for state, what in change.states:
        lines.append(f"  - state `{state}`: {what}")
    return lines


def _stack_sections(report: Report) -> list[str]:
    grouped: dict[Row, list[ResourceChange]] = {}
    for change in report.changes:
        grouped.setdefault(_row_of(change), []).append(change)
    lines: list[str] = []
    for row, changes in sorted(grouped.items()):
        tally = {a: sum(1 for c in changes if c.action == a) for a in ("add", "remove", "modify")}
        summary = ", ".join(f"{n} {a}" for a, n in tally.items() if n)
        lines += ["", f"<details><summary>{row[0]} · {row[1]} · <b>{row[2]}</b>: {summary}</summary>", ""]
        for change in changes:
            lines += _resource_details(change)
        lines += ["", "</details>"]
    return lines


def _exports(exports: Iterable[ExportChange]) -> list[str]:
    lines = ["", "#### Exports", "", "| environment | stack | export | action | imported by |", "|---|---|---|---|---|"]
    for x in exports:
        users = ", ".join(x.imported_by) or "-"
        cells = [x.environment, x.stack, x.name, x.action, users + (" (**deploy will fail**)" if x.will_fail else "")]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _security(report: Report) -> list[str]:
    lines = ["", "#### Security", ""]
    for item in report.security:
        verdict = "**broadened**" if item.broadened else "narrowed or equivalent"
        lines.append(f"- {item.environment} · {item.stack} · `{item.logical_id}`: {verdict}")
        lines += [f"  - added: {_code(s)}" for s in item.added]
        lines += [f"  - removed: {_code(s)}" for s in item.removed]
    return lines


def render(report: Report) -> str:
    """The whole comment; identical builds give a single line saying so."""
    scope = (
        f"{len(report.environments)} environment(s): {', '.join(report.environments)}; {report.stacks_compared} stacks"
    )
    title = f"### Infrastructure diff: `{report.old}` → `{report.new}`"
    if report.empty:
        return f"{title}\n\nNo infrastructure change ({scope}).\n"
    lines = [title, "", *_summary(report), "", f"Compared {scope}.", *_stack_sections(report)]
    if report.exports:
        lines += _exports(report.exports)
    if report.notes:
        lines += ["", "#### Imports and weak references", ""]
        lines += [f"- {n.environment} · {n.layout} · {n.stack}: {n.kind}: {n.text}" for n in report.notes]
    if report.waves:
        lines += ["", "#### Deploy waves", ""]
        for w in report.waves:
            before = " → ".join("[" + ", ".join(x) + "]" for x in w.before) or "(none)"
            after = " → ".join("[" + ", ".join(x) + "]" for x in w.after) or "(none)"
            lines.append(f"- {w.environment} · {w.layout}: {before} **became** {after}")
    if report.security:
        lines += _security(report)
    return "\n".join(lines) + "\n"
