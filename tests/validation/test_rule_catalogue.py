"""The rule catalogue: stable ids, one-line descriptions, sources, and the README table."""

from __future__ import annotations

import re

from ceap_templates.validation.rules import all_rules, custom_rules

from .conftest import ROOT


def test_rule_ids__unique_group_prefix_and_number() -> None:
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids))
    assert all(
        re.fullmatch(r"(LINT|MAN|REF|ASL|NAME|COL|LEG|MIG|IAM|SEC|OPS|DATA|PIPE|LIM|CAP|DOC)\d{3}", i) for i in ids
    ), ids


def test_rules__one_line_description_and_a_source() -> None:
    for rule in all_rules():
        assert rule.description and "\n" not in rule.description and len(rule.description) < 240, rule.id
        assert rule.source and any(s in rule.source for s in ("docs/design.md", "docs/", "seed", "http")), rule.id


def test_only_cfn_lint_is_external() -> None:
    assert [r.id for r in all_rules() if r not in custom_rules()] == ["LINT001"]


def test_readme__lists_every_rule_with_its_id_description_and_source() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("\n## Validation rules\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"^\| [A-Z]+\d{3} \|", line)]
    assert rows == [f"| {r.id} | {r.description} | {r.source} |" for r in all_rules()]


def test_rule_that_breaks__reported_as_its_finding_not_a_traceback() -> None:
    from ceap_templates.validation.engine import run
    from ceap_templates.validation.model import Build
    from ceap_templates.validation.rule import Rule

    def broken(build: Build) -> list[object]:
        raise KeyError("Resources")

    findings = run(Build(None, {}), [Rule("XYZ001", "breaks", "docs/design.md", broken)])  # type: ignore[arg-type]
    assert [str(f) for f in findings] == ["XYZ001 -/-: check could not run on this build: KeyError: 'Resources'"]
