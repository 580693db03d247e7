"""Mutation tests: every generated defect of a real build is reported by exactly the rule meant for it.

Custom rules only (cfn-lint costs ~0.2 s per template, too slow inside hypothesis loops); the
cfn-lint rule has its own fixed mutations below. A mutation that no rule reports fails, and so does
one that a second rule also reports: each rule owns its defect.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.validation.engine import run
from ceap_templates.validation.model import Build
from ceap_templates.validation.rules import all_rules

from .conftest import custom_findings
from .mutations import MUTATIONS, PLATFORM, Draft, Mutation

#: Findings per distinct mutated build: with small target spaces hypothesis repeats examples.
_SEEN: dict[tuple[object, ...], list[Any]] = {}


def _findings(build: Build) -> list[Any]:
    env = next(iter(build.environments.values()))
    key = (
        tuple(sorted((s.location, s.sha256) for s in build.stacks())),
        json.dumps(env.manifest, sort_keys=True),
        tuple(sorted(env.documents.items())),
    )
    if key not in _SEEN:
        _SEEN[key] = custom_findings(build)
    return _SEEN[key]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m.rule}:{m.name.replace(' ', '-')}")
def test_mutation__reported_by_exactly_its_rule(base_build: Build, mutation: Mutation) -> None:
    candidates = {name: mutation.candidates(env) for name, env in base_build.environments.items()}
    envs = sorted(name for name, found in candidates.items() if found)
    assert envs, f"the real build offers no target for {mutation.name!r}"

    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        env = data.draw(st.sampled_from(envs), label="environment")
        target = data.draw(st.sampled_from(candidates[env]), label="target")
        draft = Draft(base_build.environments[env])
        locations = mutation.apply(draft, target, data)
        findings = _findings(draft.finish(reseal=mutation.reseal))
        assert {f.rule for f in findings} == {mutation.rule}, "\n".join(map(str, findings)) or "no finding"
        if locations:
            assert any(f.location in locations for f in findings), (locations, [str(f) for f in findings])

    check()


def test_every_rule__some_mutation_makes_it_fail() -> None:
    """A rule that cannot fail is a defect: each one owns at least one mutation (LINT001 below)."""
    owned = {m.rule for m in MUTATIONS} | {"LINT001"}
    assert owned == {r.id for r in all_rules()}


def test_unmutated_build__no_custom_finding(base_build: Build) -> None:
    assert custom_findings(base_build) == []


# ---- cfn-lint-level mutations: a small fixed set, one cfn-lint call for all of them -------------
CFN_LINT_MUTATIONS = {
    # (environment, component site, property, value): edited in every layout placing the component.
    "enum value cfn-lint knows is wrong": ("dev", (PLATFORM, "CandidatesTableB438AE0C"), "BillingMode", "FREE"),
    "property the resource type does not have": ("staging", ("CeapWorkflow-realtime", "WorkflowQueue"), "DelaySecs", 5),
    # The Reactive summary is not sized (CAP001 would also refuse 64 MB for a stage that works candidates).
    "number below the allowed range": ("prod", ("CeapWorkflow-batch", "ReactiveFunction"), "MemorySize", 64),
}


def test_cfn_lint_mutations__reported_by_lint001_only(base_build: Build) -> None:
    drafts: dict[str, Draft] = {}
    expected: list[tuple[str, str]] = []
    for env, site, prop, value in CFN_LINT_MUTATIONS.values():
        draft = drafts.setdefault(env, Draft(base_build.environments[env]))
        for (layout, stack), resource in draft.resources(site):
            resource["Properties"][prop] = value
            expected.append((draft.env.layouts[layout].stacks[stack].location, site[1]))
    environments = dict(base_build.environments)
    for env, draft in drafts.items():
        environments[env] = draft.finish().environments[env]
    findings = run(Build(None, environments), all_rules())
    assert {f.rule for f in findings} == {"LINT001"}, [str(f) for f in findings]
    assert {(f.location, f.resource) for f in findings} == set(expected)
    assert all(re.search(r": [EWI]\d{4} .+ \(line \d+\)$", str(f)) for f in findings), [str(f) for f in findings]
