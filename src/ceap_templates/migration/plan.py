"""The migration plan of one environment: verified preconditions, both routes, the files to write.

Nothing is written unless every precondition holds (docs/migration.md): no physical name two
different resources claim (COL001), a counterpart for every legacy resource (MIG001), no export a
legacy stack imports dropped by the new template of a stack both layouts share, and a build the
custom validation rules accept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ceap_templates.errors import CeapError
from ceap_templates.layouts import CONSOLIDATED, LEGACY
from ceap_templates.migration import render
from ceap_templates.migration.refactor import MAX_TEMPLATE_BODY_BYTES, Batch, Move, body, moves, plan_batches
from ceap_templates.validation.migration_check import missing_counterparts
from ceap_templates.validation.model import Environment, load_build
from ceap_templates.validation.rules.collision import collisions, hand_overs

#: The one rule left out of the build check: cfn-lint is slow and CI runs it on every build.
SKIPPED_RULES = ("LINT001",)


class PlanRefused(CeapError):
    """plan-migration cannot plan this input (one line, exit 2)."""


@dataclass(frozen=True)
class Plan:
    env: Environment
    moves: list[Move]
    cannot_move: list[str]
    batches: list[Batch]
    kept_exports: list[str]
    handed_over: list[str]

    def files(self) -> dict[str, str]:
        """Relative path -> text of every file of the plan."""
        out: dict[str, str] = {}
        for batch in self.batches:
            folder = f"refactor/{batch.number:02d}"
            definitions = []
            for name in batch.stacks:
                text = body(batch.templates[name])
                if len(text.encode("utf-8")) > MAX_TEMPLATE_BODY_BYTES:
                    out[f"{folder}/templates/{name}.json"] = text
                    definitions.append({"StackName": name, "TemplateURL": render.template_url(self.env, batch, name)})
                else:
                    definitions.append({"StackName": name, "TemplateBody": text})
            out[f"{folder}/stack-definitions.json"] = json.dumps(definitions, indent=2) + "\n"
            out[f"{folder}/resource-mappings.json"] = json.dumps(batch.mappings(), indent=2) + "\n"
        out["PLAN.md"] = render.plan_markdown(self, sorted(p for p in out if "/templates/" in p))
        return out


def _refuse(env: str, reasons: list[str]) -> PlanRefused:
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return PlanRefused(f"plan-migration refused for {env}: {shown}")


def _dropped_exports(env: Environment, all_moves: list[Move]) -> tuple[list[str], list[str]]:
    """(exports a legacy stack imports that a shared stack's new template drops although their resource
    stays, exports that must stay until cleanup)."""
    legacy, new = env.layouts[LEGACY].stacks, env.layouts[CONSOLIDATED].stacks
    moved = {(m.source, m.logical_id) for m in all_moves}
    dropped: list[str] = []
    kept: dict[str, set[str]] = {}
    for stack in legacy.values():
        for imp in stack.imports:
            producer = next((p for p in legacy.values() if imp.name in p.exports), None)
            if producer is None or producer.name == stack.name:
                continue
            kept.setdefault(f"{imp.name} (from {producer.name})", set()).add(stack.name)
            if producer.name not in new or imp.name in new[producer.name].exports:
                continue
            title = producer.exports[str(imp.name)]
            value = producer.template.get("Outputs", {}).get(title, {}).get("Value")
            targets = {t for t in producer.resources if f'"{t}"' in json.dumps(value)}
            if not any((producer.name, t) in moved for t in targets):
                dropped.append(
                    f"export {imp.name} imported by {stack.name} is dropped by the new {producer.name} template "
                    "(CloudFormation refuses: export in use)"
                )
    return sorted(set(dropped)), [f"{e}, imported by {', '.join(sorted(s))}" for e, s in sorted(kept.items())]


def make_plan(build_dir: str | Path, env_name: str) -> Plan:
    """Check the build and plan the migration of ``env_name``.

    Raises
    ------
    PlanRefused
        The environment is not in the build, has no legacy layout, or a precondition fails.
    """
    from ceap_templates.validation.engine import validate_directory

    build = load_build(build_dir)
    if env_name not in build.environments:
        raise PlanRefused(
            f"--env {env_name}: not in {build_dir}; environments there: {', '.join(sorted(build.environments))}"
        )
    env = build.environments[env_name]
    if LEGACY not in env.layouts or CONSOLIDATED not in env.layouts:
        raise PlanRefused(
            f"--env {env_name}: {build_dir}/{env_name}/manifest.json has no legacy layout to migrate from"
        )
    reasons = [
        f"name collision: {c.new.kind} {c.new.name!r} claimed by {c.legacy.stack.name}/{c.legacy.logical_id} "
        f"and {c.new.stack.name}/{c.new.logical_id}"
        for c in collisions(env)
        if not c.handed_over
    ]
    legacy = {n: s.template for n, s in env.layouts[LEGACY].stacks.items()}
    new = {n: s.template for n, s in env.layouts[CONSOLIDATED].stacks.items()}
    reasons += [f"missing counterpart: {c.describe()}" for c in missing_counterparts(legacy, new)]
    all_moves, cannot_move = moves(env)
    dropped, kept = _dropped_exports(env, all_moves)
    reasons += dropped
    if reasons:
        raise _refuse(env_name, reasons)
    report = validate_directory(Path(build_dir) / env_name, skip=SKIPPED_RULES)
    if report.findings:
        raise _refuse(env_name, [f"the build does not validate: {f}" for f in report.findings])
    handed = [f"{c.legacy.kind} {c.legacy.name} ({c.legacy.stack.name}/{c.legacy.logical_id})" for c in hand_overs(env)]
    return Plan(env, all_moves, cannot_move, plan_batches(env, all_moves), kept, sorted(set(handed)))


def write_plan(build_dir: str | Path, env_name: str, out: str | Path) -> Plan:
    """Refuse a non-empty ``out`` before anything else; write every file only once all checks passed."""
    target = Path(out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise PlanRefused(f"--out {out}: exists and is not an empty folder; choose a new one")
    plan = make_plan(build_dir, env_name)
    for relative, text in plan.files().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return plan
