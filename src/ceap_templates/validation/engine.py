"""Run rules over a parsed build and collect findings (sorted, de-duplicated)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ceap_templates.errors import CeapError
from ceap_templates.validation.cache import ResultCache, entry_key
from ceap_templates.validation.model import Build, Environment, Layout, Stack, load_build
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
    complete = _complete_environments(build)
    for rule in rules:
        # Rules comparing templates see only environments whose every template parsed (the one
        # finding of a broken template says so); per-template rules never see the broken one.
        view = build if rule.per_template or rule.reads_incomplete else complete
        try:
            found.update(Finding(h.location, h.resource, rule.id, h.message) for h in rule.check(view))
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            found.add(Finding("-", "-", rule.id, f"check could not run on this build: {type(exc).__name__}: {exc}"))
    return tuple(sorted(found))


def _complete_environments(build: Build) -> Build:
    """``build`` without the environments some template of which is missing or does not parse."""
    if not any(env.unreadable for env in build.environments.values()):
        return build
    kept = {name: env for name, env in build.environments.items() if not env.unreadable}
    return replace(build, environments=kept)


def _one_stack(env: Environment, stack: Stack) -> Build:
    """A build of ``stack`` alone, with its environment's settings (what per-template rules read)."""
    layout = Layout(stack.layout, {stack.name: stack}, (), ())
    alone = replace(env, layouts={stack.layout: layout}, documents={}, load_problems=(), unreadable=())
    return Build(None, {env.name: alone})


def _lint_uncached(pending: list[tuple[Environment, Stack]], rule: Rule) -> dict[str, list[Finding]]:
    """cfn-lint (one parallel run per region) on the stacks not in the cache -> findings by location."""
    from ceap_templates.validation.cfn_lint import lint_files

    found: dict[str, list[Finding]] = {stack.location: [] for _, stack in pending}
    regions = sorted({str(env.manifest.get("region") or "us-east-1") for env, _ in pending})
    for region in regions:
        subset = [(env, stack) for env, stack in pending if str(env.manifest.get("region") or "us-east-1") == region]
        on_disk = [s for _, s in subset if s.file is not None]
        by_file = {str(s.file): s for s in on_disk}
        for match in lint_files(list(by_file), [region]):
            owner = by_file[match.filename]
            found[owner.location].append(Finding(owner.location, match.resource, rule.id, str(match)))
        in_memory = [(e, s) for e, s in subset if s.file is None]
        for env, stack in in_memory:
            found[stack.location] = list(run(_one_stack(env, stack), [rule]))
    return found


def run_cached(build: Build, rules: Sequence[Rule], cache: ResultCache) -> tuple[Finding, ...]:
    """:func:`run`, with per-template results taken from ``cache`` where the template is unchanged.

    Rules that compare templates always run on the whole build; per-template rules run only on
    templates whose cache entry lacks them, and cfn-lint runs once, in parallel, over those.
    """
    per_template = [r for r in rules if r.per_template]
    found: set[Finding] = set(run(build, [r for r in rules if not r.per_template]))
    pending: dict[str, list[tuple[Environment, Stack]]] = {}
    entries: dict[str, tuple[str, dict[str, list[tuple[str, str, str]]]]] = {}
    for env in build.environments.values():
        for stack in env.stacks():
            key = entry_key(env, stack)
            cached = cache.load(key)
            entries[stack.location] = (key, cached)
            for rule in per_template:
                if rule.id in cached:
                    found.update(Finding(loc, res, rule.id, msg) for loc, res, msg in cached[rule.id])
                else:
                    pending.setdefault(rule.id, []).append((env, stack))
    for rule in per_template:
        work = pending.get(rule.id, [])
        if not work:
            continue
        if rule.external:
            computed = _lint_uncached(work, rule)
        else:
            computed = {stack.location: list(run(_one_stack(env, stack), [rule])) for env, stack in work}
        for location, findings in computed.items():
            entries[location][1][rule.id] = [(f.location, f.resource, f.message) for f in findings]
            found.update(findings)
    touched = {stack.location for work in pending.values() for _, stack in work}
    for location in sorted(touched):
        key, cached_or_new = entries[location]
        cache.store(key, cached_or_new)
    return tuple(sorted(found))


def validate(build: Build, rules: Sequence[Rule] | None = None, cache: ResultCache | None = None) -> Report:
    """Run ``rules`` (default: all) on an already loaded build; with ``cache``, reuse its results."""
    from ceap_templates.validation.rules import all_rules

    chosen = tuple(all_rules() if rules is None else rules)
    started = time.perf_counter()
    findings = run(build, chosen) if cache is None else run_cached(build, chosen, cache)
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
    cache: ResultCache | None = None,
) -> Report:
    """Load ``root`` once and run the selected rules; ``documents`` are extra Markdown to check.

    With ``cache``, per-template results of unchanged templates come from it (see
    :mod:`ceap_templates.validation.cache`); without, every rule runs on every template.

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
    report = validate(build, rules, cache)
    return Report(report.findings, report.rules, report.stacks, report.environments, time.perf_counter() - started)
