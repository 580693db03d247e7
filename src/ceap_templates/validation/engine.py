"""Run rules over a parsed build and collect findings (sorted, de-duplicated)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ceap_templates.errors import CeapError
from ceap_templates.validation.model import Build, load_build
from ceap_templates.validation.rule import Finding, Rule


class UnknownRuleError(CeapError):
    """``--skip``/``--only`` named a rule that does not exist."""


@dataclass(frozen=True)
class Report:
    """Outcome of one validation run."""

    findings: tuple[Finding, ...]
    rules: tuple[str, ...]
    stacks: int
    environments: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.findings


def select_rules(rules: Sequence[Rule], only: Iterable[str] = (), skip: Iterable[str] = ()) -> tuple[Rule, ...]:
    """``rules`` restricted to ``only`` (when given) minus ``skip``; unknown ids are an error."""
    known = {r.id for r in rules}
    wanted, unwanted = set(only), set(skip)
    unknown = sorted((wanted | unwanted) - known)
    if unknown:
        raise UnknownRuleError(f"unknown rule id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return tuple(r for r in rules if (not wanted or r.id in wanted) and r.id not in unwanted)


def run(build: Build, rules: Sequence[Rule]) -> tuple[Finding, ...]:
    """Every finding of ``rules`` on ``build``, sorted by location, resource, rule.

    A rule that breaks on a malformed template reports that as its finding: the run goes on and
    the build still fails, instead of one bad file hiding every other finding behind a traceback.
    """
    found: set[Finding] = set()
    for rule in rules:
        try:
            found.update(Finding(h.location, h.resource, rule.id, h.message) for h in rule.check(build))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            found.add(Finding("-", "-", rule.id, f"check could not run on this build: {type(exc).__name__}: {exc}"))
    return tuple(sorted(found))


def validate(build: Build, rules: Sequence[Rule] | None = None) -> Report:
    """Run ``rules`` (default: all) on an already loaded build."""
    from ceap_templates.validation.rules import all_rules

    chosen = tuple(all_rules() if rules is None else rules)
    started = time.perf_counter()
    findings = run(build, chosen)
    return Report(
        findings=findings,
        rules=tuple(r.id for r in chosen),
        stacks=sum(1 for _ in build.stacks()),
        environments=tuple(build.environments),
        seconds=time.perf_counter() - started,
    )


def validate_directory(
    root: str | Path,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    documents: Iterable[str | Path] = (),
) -> Report:
    """Load ``root`` once and run the selected rules; ``documents`` are extra Markdown to check.

    Raises
    ------
    BuildLoadError
        ``root`` holds no build.
    UnknownRuleError
        ``only``/``skip`` name an unknown rule.
    """
    from ceap_templates.validation.docs_check import read_documents
    from ceap_templates.validation.rules import all_rules

    rules = select_rules(all_rules(), only, skip)
    started = time.perf_counter()
    build = load_build(root, read_documents(documents))
    report = validate(build, rules)
    return Report(report.findings, report.rules, report.stacks, report.environments, time.perf_counter() - started)
