"""The policy and the legacy record carry a source per value, and the project docs say the same."""

from __future__ import annotations

import re

from ceap_templates.validation import policy
from ceap_templates.validation.legacy_system import LEGACY_RESOURCES, LEGACY_ROLES, stack_name

from .conftest import ROOT
from .expected import LEGACY_IDS, LEGACY_NAMES

POLICY_DOC = ROOT / "docs" / "validation-policy.md"
LEGACY_DOC = ROOT / "docs" / "legacy-system.md"


def _public_values() -> set[str]:
    return {
        name
        for name, value in vars(policy).items()
        if name.isupper() and not name.startswith("_") and name != "SOURCES" and not isinstance(value, type)
    }


def test_every_policy_value__has_a_source_and_every_source_a_value() -> None:
    assert set(policy.SOURCES) == _public_values()


def test_sources__name_a_seed_an_aws_page_or_the_project_docs() -> None:
    for name, source in policy.SOURCES.items():
        assert re.search(r"seed 00\d|https://docs\.aws\.amazon\.com/|docs/|lambdas/|LAMBDA_RETRY", source), name
        assert "/shared/" not in source and "/work/" not in source, name


def test_policy_doc__lists_every_value() -> None:
    text = POLICY_DOC.read_text("utf-8")
    missing = sorted(name for name in policy.SOURCES if f"`{name}`" not in text)
    assert missing == []


def _legacy_doc_rows() -> list[tuple[str, str, str, str]]:
    """(legacy stack, type, logical id, physical name) of the table in docs/legacy-system.md."""
    text = LEGACY_DOC.read_text("utf-8")
    section = text.split("## Logical IDs that must be preserved", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[3].endswith(tuple("0123456789ABCDEF")) and cells[0].startswith("Ceap"):
            rows.append((cells[0], cells[2], cells[3], cells[4]))
    return rows


def test_legacy_record__equals_the_table_users_read() -> None:
    record = [
        (stack_name(r.legacy_role, "{env}"), r.type, r.logical_id, r.physical_name or "generated")
        for r in LEGACY_RESOURCES
    ]
    assert record == _legacy_doc_rows()
    assert len(record) == 12


def test_legacy_record__agrees_with_the_tests_literals() -> None:
    """Two statements of docs/legacy-system.md (validator record, test literals) agree."""
    for row in LEGACY_RESOURCES:
        legacy_stack, consolidated_stack = LEGACY_IDS[row.logical_id]
        assert row.stack("legacy", "dev") == f"{legacy_stack}-dev"
        assert row.stack("consolidated", "dev") == f"{consolidated_stack}-dev"
        if row.physical_name:
            assert row.physical_name == LEGACY_NAMES[row.logical_id]
    assert {stack_name(r, "x").removesuffix("-x") for r in LEGACY_ROLES} >= {s for s, _ in LEGACY_IDS.values()}


def test_policy_values__the_seeds_numbers() -> None:
    """The numbers the issue names, as the seeds state them (a drifted policy fails here too)."""
    assert (policy.LAMBDA_RETRY.interval_seconds, policy.LAMBDA_RETRY.max_attempts) == (20, 2)  # seed 002 6.2
    assert policy.LAMBDA_RETRY.backoff_rate == 2.0
    assert (policy.GLUE_RETRY.interval_seconds, policy.GLUE_RETRY.max_attempts) == (300, 2)  # seed 004
    assert policy.GLUE_RETRY.backoff_rate == 2.0
    assert policy.MAX_RECEIVE_COUNT == 3  # seed 002 task 12.1
    assert policy.DLQ_RETENTION_SECONDS == 1_209_600  # 14 days
    assert policy.EXECUTIONS_EXPIRY_DAYS == 7  # seed 002 task 2.2
    assert policy.STATES_START_EXECUTION_SYNC.endswith(".sync:2")  # seed 000 pattern 3
    assert dict(policy.PIPE_INVOCATION) == {
        "EXPRESS": ("REQUEST_RESPONSE", "states:StartSyncExecution"),
        "STANDARD": ("FIRE_AND_FORGET", "states:StartExecution"),
    }
