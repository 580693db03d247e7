"""docs/legacy-system.md logical IDs, and the legacy layout's counterparts in the consolidated one."""

from __future__ import annotations

from collections.abc import Iterator

from ceap_templates.validation.canonical import show
from ceap_templates.validation.equivalence import configuration_differences
from ceap_templates.validation.legacy_system import BY_ID, CHECKED_LAYOUTS, CONSOLIDATED, LEGACY, LEGACY_RESOURCES
from ceap_templates.validation.migration_check import counterparts
from ceap_templates.validation.model import Build
from ceap_templates.validation.rule import Hit, Rule, hit


# ---- LEG001 ---------------------------------------------------------------------------------
def check_legacy_ids(build: Build) -> Iterator[Hit]:
    """Each of the 12 IDs: exactly once, in its stack, with its type and identity."""
    for env in build.environments.values():
        for layout_name in CHECKED_LAYOUTS:
            layout = env.layouts.get(layout_name)
            if layout is None:
                yield Hit(
                    f"{env.name}/manifest.json",
                    f"layouts.{layout_name}",
                    "layout missing: docs/legacy-system.md IDs cannot be checked",
                )
                continue
            folder = "legacy/" if layout_name == LEGACY else ""
            for row in LEGACY_RESOURCES:
                expected = row.stack(layout_name, env.name)
                holders = layout.resource_index.get(row.logical_id, ())
                if not holders:
                    yield Hit(
                        f"{env.name}/{folder}{expected}",
                        row.logical_id,
                        f"docs/legacy-system.md {row.what} ({row.type}) is missing; CloudFormation would replace it",
                    )
                    continue
                for stack in holders:
                    resource = stack.resources[row.logical_id]
                    if stack.name != expected:
                        yield hit(stack, row.logical_id, f"the deployed {row.what} belongs in {expected}")
                    if resource.get("Type") != row.type:
                        yield hit(stack, row.logical_id, f"type {resource.get('Type')}; deployed: {row.type}")
                    actual = resource.get("Properties", {}).get(row.identity_property)
                    wanted = row.identity(env.name)
                    if actual != wanted:
                        yield hit(
                            stack,
                            row.logical_id,
                            f"{row.identity_property} is {actual!r}; docs/legacy-system.md {row.what} has {wanted!r} "
                            "(IDs swapped?)",
                        )


# ---- MIG001 / MIG002 ------------------------------------------------------------------------
def check_counterparts(build: Build) -> Iterator[Hit]:
    """Every other legacy resource has one counterpart (same ID and type) in the consolidated stacks."""
    for env in build.environments.values():
        if LEGACY not in env.layouts or CONSOLIDATED not in env.layouts:
            continue
        legacy = env.layouts[LEGACY].stacks
        new = {n: s.template for n, s in env.layouts[CONSOLIDATED].stacks.items()}
        for found in counterparts({n: s.template for n, s in legacy.items()}, new):
            if not found.ok and found.logical_id not in BY_ID:  # LEG001 covers the 12 deployed IDs
                yield hit(legacy[found.legacy_stack], found.logical_id, found.describe())


def check_equivalence(build: Build) -> Iterator[Hit]:
    """A resource and its counterpart are configured the same, up to placement."""
    for env in build.environments.values():
        if LEGACY not in env.layouts or CONSOLIDATED not in env.layouts:
            continue
        for d in configuration_differences(env, LEGACY, CONSOLIDATED):
            yield hit(
                d.old_stack,
                d.logical_id,
                f"differs from its counterpart in {d.new_stack.location} at {d.path}: {show(d.old)} != {show(d.new)}",
            )


RULES = (
    Rule(
        "LEG001",
        "the 12 deployed logical IDs (docs/legacy-system.md) are present once per layout, in their stack, with "
        "their type and identity (physical name or stage handler)",
        "docs/legacy-system.md 'Logical IDs that must be preserved'; seed 000 Property 7",
        check_legacy_ids,
    ),
    Rule(
        "MIG001",
        "every other resource of the legacy layout has one counterpart (same logical ID and type) in the consolidated "
        "stacks",
        "seed 000 Properties 2 and 5; validation/migration_check.py",
        check_counterparts,
    ),
    Rule(
        "MIG002",
        "a legacy resource and its consolidated counterpart have the same configuration, up to placement "
        "(imports vs Ref, stack names)",
        "seed 000 Properties 1 and 3; docs/design.md 4 (same component, same resources, any layout)",
        check_equivalence,
    ),
)
