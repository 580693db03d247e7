"""COL001: a legacy stack and a new stack of one environment never claim the same physical name.

Blue-green (docs/migration.md) creates the consolidated and workflow stacks beside the legacy ones;
a name both layouts claim fails that create with "already exists", and a retained resource of one
layout blocks re-creating the other after a rollback. Names are compared after CloudFormation
resolves ``${AWS::StackName}`` (``/aws/lambda/${AWS::StackName}-ETLLambda``); account and region
tokens are equal within an environment, so they are compared as written.

Two exceptions, both one resource rather than two:

- a stack with the same name in both layouts (``CeapDatabase-{env}``) is updated in place, never
  created beside itself;
- a docs/legacy-system.md resource whose physical name is its identity (tables, the two rules,
  the batch-ingestion machine: other systems name them) is **handed over**: the same logical ID and
  type on both sides, moved by stack refactoring or by retain + import (docs/migration.md), never
  created twice. :func:`hand_overs` lists them for the migration plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ceap_templates.validation.legacy_system import BY_ID, LEGACY
from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules.naming import physical_names

#: docs/legacy-system.md 'Logical IDs that must be preserved': rows whose physical name is the identity.
NAME_IDENTITIES = frozenset({"TableName", "Name", "StateMachineName"})


@dataclass(frozen=True)
class Claim:
    """One physical name one resource of one stack claims."""

    kind: str
    name: str
    stack: Stack
    logical_id: str
    type: str


@dataclass(frozen=True)
class Collision:
    """A name claimed by a legacy resource and by a resource of a new stack."""

    legacy: Claim
    new: Claim

    @property
    def handed_over(self) -> bool:
        """The same deployed resource on both sides, whose name must be kept (moved, not created)."""
        # Recognised by the kept name (what other systems use), so a logical ID changed in every layout is
        # LEG001's finding alone; two different resources (different IDs) sharing it are a collision.
        kept = {r.identity(self.legacy.stack.env) for r in BY_ID.values() if r.identity_property in NAME_IDENTITIES}
        return (
            self.legacy.name in kept
            and self.new.logical_id == self.legacy.logical_id
            and self.new.type == self.legacy.type
        )


def claims(stack: Stack) -> Iterator[Claim]:
    """Every literal physical name of ``stack``, ``${AWS::StackName}`` resolved."""
    for logical_id, _, kind, name in physical_names(stack):
        resolved = name.replace("${AWS::StackName}", stack.name)
        yield Claim(kind, resolved, stack, logical_id, str(stack.resources[logical_id].get("Type")))


def collisions(env: Environment) -> list[Collision]:
    """Names a legacy stack and a different stack deployed with the product both claim."""
    if LEGACY not in env.layouts:
        return []
    legacy: dict[tuple[str, str], list[Claim]] = {}
    for stack in env.layouts[LEGACY].stacks.values():
        for claim in claims(stack):
            legacy.setdefault((claim.kind, claim.name), []).append(claim)
    found: list[Collision] = []
    for stack in env.plan_stacks("deploy").values():
        if stack.name in env.layouts[LEGACY].stacks:
            continue  # the same stack, updated in place
        for claim in claims(stack):
            found += [Collision(old, claim) for old in legacy.get((claim.kind, claim.name), ())]
    return found


def hand_overs(env: Environment) -> list[Collision]:
    """Shared names the migration moves with their resource (stack refactoring, or retain + import)."""
    return [c for c in collisions(env) if c.handed_over]


def check_collisions(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        for c in collisions(env):
            if c.handed_over:
                continue
            yield hit(
                c.new.stack,
                c.new.logical_id,
                f"{c.new.kind} name {c.new.name!r} is also claimed by {c.legacy.stack.name}/{c.legacy.logical_id}: "
                "creating this stack beside the legacy one fails with 'already exists'",
            )


RULES = (
    Rule(
        "COL001",
        "no physical name (table, bucket, log group, function, queue, topic, role, rule, state machine) is claimed "
        "by a legacy stack and a new stack of the same environment, except docs/legacy-system.md names handed over",
        "docs/legacy-system.md 'Defects of the old system' (collisions beside the old stacks); docs/migration.md",
        check_collisions,
    ),
)
