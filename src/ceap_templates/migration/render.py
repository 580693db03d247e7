"""PLAN.md: the ordered steps of both routes, each with its command, check, rollback, approval, duration.

Targets (seed 001, issue 12): zero downtime, a 24-hour soak before legacy cleanup, rollback in under
10 minutes, no data lost. Each step names the steps it needs (``requires``); tests prove the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ceap_templates.migration.refactor import MAX_STACKS_PER_REFACTOR, Batch
from ceap_templates.validation.model import Environment

if TYPE_CHECKING:
    from ceap_templates.migration.plan import Plan

SOAK_HOURS = 24
ROLLBACK_TARGET_MINUTES = 10


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    commands: tuple[str, ...]
    check: str
    rollback: str
    approval: str
    minutes: int
    requires: tuple[str, ...] = ()


def template_url(env: Environment, batch: Batch, stack: str) -> str:
    bucket = env.manifest.get("code", {}).get("artifactBucket", "ARTIFACT_BUCKET")
    return f"https://{bucket}.s3.amazonaws.com/migration/{env.name}/refactor/{batch.number:02d}/{stack}.json"


def recommended(env: Environment) -> tuple[str, str]:
    """(route, why) for the environment."""
    if env.retain_data:
        return (
            "refactor",
            "the environment retains its data: stack refactoring moves every resource, tables and kept names "
            "included, without re-creating or importing anything, and each batch is reversed by the mirror refactor",
        )
    return (
        "blue-green",
        "the data may be re-created (retainData false): the new stacks run beside legacy through the soak, the "
        "route can be rehearsed on the local AWS (which has no stack refactoring) and rollback is rollback.sh",
    )


def refactor_steps(plan: Plan, uploads: list[str]) -> list[Step]:
    env = plan.env.name
    gate = "owner of the environment" if not plan.env.retain_data else "change board and on-call (production data)"
    steps = [
        Step(
            "R1",
            "Check the build",
            (f"ceap-templates validate build/{env} --skip LINT001", f"ceap-templates plan-migration --env {env} ..."),
            "exit 0; preconditions below hold",
            "none (nothing changed)",
            "none",
            1,
        ),
        Step(
            "R2",
            "Back up what is deployed",
            (f"scripts/backup-templates.sh {env} --out backups/{env}",),
            f"backups/{env} holds every legacy stack's template and every table's item count",
            "none (read only)",
            "none",
            3,
            ("R1",),
        ),
    ]
    if uploads:
        steps.append(
            Step(
                "R3",
                f"Upload templates over 51,200 bytes ({len(uploads)})",
                tuple(
                    f"aws s3 cp {p} s3://{plan.env.manifest.get('code', {}).get('artifactBucket', 'ARTIFACT_BUCKET')}"
                    f"/migration/{env}/{p.removeprefix('refactor/').replace('/templates', '')}"
                    for p in uploads
                ),
                "aws s3 ls shows each object",
                "aws s3 rm of the objects",
                "none",
                1,
                ("R2",),
            )
        )
    previous = steps[-1].key
    for batch in plan.batches:
        folder = f"refactor/{batch.number:02d}"
        key = f"R-batch-{batch.number:02d}"
        steps.append(
            Step(
                key,
                f"Refactor batch {batch.number:02d}: {', '.join(batch.sources)} -> {batch.destination} "
                f"({len(batch.moves)} resources)",
                (
                    "ID=$(aws cloudformation create-stack-refactor --enable-stack-creation "
                    f"--stack-definitions file://{folder}/stack-definitions.json "
                    f"--resource-mappings file://{folder}/resource-mappings.json "
                    "--query StackRefactorId --output text)",
                    'aws cloudformation describe-stack-refactor --stack-refactor-id "$ID"',
                    'aws cloudformation execute-stack-refactor --stack-refactor-id "$ID"',
                ),
                'describe-stack-refactor --stack-refactor-id "$ID" shows ExecutionStatus EXECUTE_COMPLETE; '
                f"list-stack-resources --stack-name {batch.destination} lists every mapped logical ID",
                "create and execute the mirror refactor: the same mappings with Source and Destination swapped and the "
                "stack definitions of the batch before (the backups for batch 01)",
                gate,
                10,
                (previous,),
            )
        )
        previous = key
    steps += [
        Step(
            "R4",
            "Update to the consolidated templates; create the workflow stacks",
            (f"scripts/deploy.sh {env} --dry-run", f"scripts/deploy.sh {env} --yes"),
            f"scripts/smoke-test.sh {env} follows a request to every stage's S3 output",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes (target < {ROLLBACK_TARGET_MINUTES} min)",
            gate,
            20,
            (previous,),
        ),
        Step(
            "R5",
            "Validate the resources",
            (f"scripts/validate-resources.sh {env} --build build",),
            "exit 0: every legacy resource has its counterpart deployed",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes",
            "none",
            2,
            ("R4",),
        ),
        Step(
            "R6",
            f"Soak {SOAK_HOURS} h",
            ("watch the alarms and the batch ingestion's executions",),
            "no alarm, every scheduled execution SUCCEEDED",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes",
            "on-call signs the soak off",
            SOAK_HOURS * 60,
            ("R5",),
        ),
        Step(
            "R7",
            "Delete the emptied legacy stacks (placeholders)",
            (f"scripts/cleanup-legacy.sh {env} --dry-run", f"scripts/cleanup-legacy.sh {env} --yes"),
            "describe-stacks finds no legacy-only stack",
            "none: only placeholders are deleted; the backups re-create the stacks",
            gate,
            5,
            ("R6",),
        ),
    ]
    return steps


def blue_green_steps(plan: Plan) -> list[Step]:
    env = plan.env.name
    gate = "owner of the environment" if not plan.env.retain_data else "change board and on-call (production data)"
    handed = ", ".join(plan.handed_over) or "none"
    return [
        Step(
            "B1",
            "Check the build",
            (f"ceap-templates validate build/{env} --skip LINT001",),
            "exit 0",
            "none",
            "none",
            1,
        ),
        Step(
            "B2",
            "Back up what is deployed",
            (f"scripts/backup-templates.sh {env} --out backups/{env}",),
            f"backups/{env} holds every template and item count",
            "none (read only)",
            "none",
            3,
            ("B1",),
        ),
        Step(
            "B3",
            "Hand over the kept names: Retain, remove from legacy, import into the new stacks",
            (
                f"resources: {handed}",
                "update each legacy holder with DeletionPolicy Retain, then without the resource",
                "aws cloudformation create-change-set --change-set-type IMPORT --resources-to-import file://... "
                "--template-body file://build/... (the new stack with only the imported resources)",
            ),
            "describe-stack-resources shows each handed-over resource in its new stack, IMPORT_COMPLETE",
            "the reverse: Retain, remove from the new stack, import back into the legacy stack",
            gate,
            20,
            ("B2",),
        ),
        Step(
            "B4",
            "Deploy the new stacks beside legacy (the database stack keeps its legacy template and exports)",
            (
                f"scripts/deploy.sh {env} --dry-run {_only(plan)}",
                f"scripts/deploy.sh {env} --yes {_only(plan)}",
            ),
            f"scripts/smoke-test.sh {env}",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes (target < {ROLLBACK_TARGET_MINUTES} min)",
            gate,
            20,
            ("B3",),
        ),
        Step(
            "B5",
            "Validate the resources",
            (f"scripts/validate-resources.sh {env} --build build",),
            "exit 0",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes",
            "none",
            2,
            ("B4",),
        ),
        Step(
            "B6",
            f"Soak {SOAK_HOURS} h",
            ("watch the alarms and executions",),
            "no alarm",
            f"scripts/rollback.sh {env} --backups backups/{env} --yes",
            "on-call signs the soak off",
            SOAK_HOURS * 60,
            ("B5",),
        ),
        Step(
            "B7",
            "Delete the legacy stacks",
            (f"scripts/cleanup-legacy.sh {env} --yes",),
            "no legacy-only stack remains; table item counts equal the backup's",
            "re-create from backups (kept names handed back by import first)",
            gate,
            10,
            ("B6",),
        ),
        Step(
            "B8",
            "Update the database stack to its consolidated template (drops exports only legacy imported)",
            (f"scripts/deploy.sh {env} --yes --only {_database(plan)}",),
            "describe-stacks shows UPDATE_COMPLETE; table item counts equal the backup's",
            f"scripts/deploy.sh {env} --layout legacy --only {_database(plan)} --yes",
            gate,
            5,
            ("B7",),
        ),
    ]


def _database(plan: Plan) -> str:
    shared = sorted(set(plan.env.layouts["legacy"].stacks) & set(plan.env.layouts["consolidated"].stacks))
    return " ".join(shared)


def _only(plan: Plan) -> str:
    """Every product stack but the one both layouts share: it changes only after cleanup (step B8)."""
    shared = set(plan.env.layouts["legacy"].stacks)
    names = sorted(n for n in plan.env.plan_stacks("deploy") if n not in shared)
    return " ".join(f"--only {n}" for n in names)


def _section(steps: list[Step]) -> list[str]:
    lines: list[str] = []
    for n, step in enumerate(steps, 1):
        lines += [f"### {n}. [{step.key}] {step.title}", ""]
        lines += ["```bash", *step.commands, "```", ""]
        lines += [
            f"- Check: {step.check}",
            f"- Rollback: {step.rollback}",
            f"- Approval: {step.approval}",
            f"- Expected duration: {step.minutes} min",
            f"- Requires: {', '.join(step.requires) or 'nothing'}",
            "",
        ]
    return lines


def plan_markdown(plan: Plan, uploads: list[str]) -> str:
    env = plan.env
    route, why = recommended(env)
    moved = len(plan.moves)
    lines = [
        f"# Migration plan: {env.name}, 7 legacy stacks -> consolidated",
        "",
        f"Recommended route: **{route}**, because {why}.",
        "",
        f"Targets (seed 001): zero downtime, {SOAK_HOURS} h soak, rollback < {ROLLBACK_TARGET_MINUTES} min, no data "
        "lost.",
        "",
        "## Preconditions verified on the build",
        "",
        "- Name collisions (COL001): none between different resources.",
        f"- Names kept and handed over (moved, never created twice): {', '.join(plan.handed_over) or 'none'}.",
        "- Every legacy resource has its counterpart (MIG001).",
        "- Exports the legacy stacks import, which must stay until cleanup:",
        *[f"  - {e}" for e in plan.kept_exports],
        "- Resources that cannot move (no counterpart by design):",
        *([f"  - {c}" for c in plan.cannot_move] or ["  - none"]),
        "",
        f"## Route 1: stack refactoring ({len(plan.batches)} batches, {moved} resources moved, "
        f"at most {MAX_STACKS_PER_REFACTOR} stacks per batch)",
        "",
        "Refactoring cannot change configuration: each batch moves resources as the legacy stack defines them; "
        "imports of exports a moved resource provides become that value, exports still imported elsewhere move "
        "with their resource, and an emptied stack keeps a placeholder. The update to the consolidated templates "
        "(stack-qualified names, which replaces those resources) is step R4.",
        "",
        *_section(refactor_steps(plan, uploads)),
        "## Route 2: blue-green",
        "",
        *_section(blue_green_steps(plan)),
    ]
    return "\n".join(lines)
