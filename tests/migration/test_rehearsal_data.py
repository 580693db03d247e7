"""Unit tests of the rehearsal's data helpers (no AWS): checksums, counts, written items, equivalence."""

from __future__ import annotations

import json

from ceap_templates.migration import rehearsal_data as rd

PROGRAM = {"PK": {"S": "PROGRAM#retail"}, "SK": {"S": "CONFIG"}, "programId": {"S": "retail"}}


def test_checksum__ignores_scan_order_and_sees_one_changed_value() -> None:
    a = [{"PK": {"S": "1"}, "SK": {"S": "x"}, "v": {"N": "1"}}, {"PK": {"S": "2"}, "SK": {"S": "x"}}]
    assert rd.checksum(a) == rd.checksum(list(reversed(a)))
    changed = [dict(a[0], v={"N": "2"}), a[1]]
    assert rd.checksum(changed) != rd.checksum(a)


def test_generated_items__counts_per_table() -> None:
    items = rd.generated_items("dev", 3000, PROGRAM)
    # docs/migration.md "Physical names": the kept table names.
    assert {t: len(v) for t, v in items.items()} == {
        "Candidates-dev": 3000,
        "ProgramConfig-dev": 20,
        "ScoreCache-dev": 300,
        "ceap-event-deduplication-dev": 50,
    }
    keys = {rd.key_of(i) for i in items["Candidates-dev"]}
    assert len(keys) == 3000  # no two generated items share a key (a put would overwrite)


def test_count_line__names_the_changed_table() -> None:
    before = {"Candidates-dev": [{"PK": {"S": "1"}}], "ProgramConfig-dev": [{"PK": {"S": "p"}}]}
    after = {"Candidates-dev": [{"PK": {"S": "1"}, "x": {"S": "edited"}}], "ProgramConfig-dev": [{"PK": {"S": "p"}}]}
    line, changed = rd.count_line(before, after)
    assert line == "Candidates 1->1, ProgramConfig 1->1"
    assert changed == ["Candidates"]
    assert rd.count_line(before, before)[1] == []


def _candidate(customer: str, updated: str, execution: str, score: float) -> dict[str, object]:
    data = {
        "customerId": customer,
        "metadata": {"updatedAt": updated, "workflowExecutionId": execution, "version": 1},
        "scores": {"p": {"timestamp": updated, "value": score}},
    }
    return {"PK": {"S": f"CUSTOMER#{customer}"}, "SK": {"S": "S"}, "data": {"S": json.dumps(data)}}


def test_written_and_equivalent__strip_clocks_keep_values() -> None:
    seed = [{"PK": {"S": "CUSTOMER#old"}, "SK": {"S": "S"}}]
    first = rd.written(seed, [*seed, _candidate("A", "2026-01-01T00:00:00Z", "run-1", 0.5)])
    second = rd.written(seed, [*seed, _candidate("A", "2026-01-02T00:00:00Z", "run-2", 0.5)])
    assert len(first) == 1
    assert rd.difference(first, second) is None
    other = rd.written(seed, [*seed, _candidate("A", "2026-01-02T00:00:00Z", "run-2", 0.7)])
    assert rd.difference(first, other) == 'item {"PK":{"S":"CUSTOMER#A"},"SK":{"S":"S"}} differs in data'
    assert "first run only" in str(rd.difference(first, []))


def test_main__bad_input_exits_2_with_one_line(tmp_path: object, capsys: object) -> None:
    assert rd.main(["request", "--records", "0"]) == 2
    assert rd.main(["counts", "/nonexistent/a.json", "/nonexistent/b.json"]) == 2
