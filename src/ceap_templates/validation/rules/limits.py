"""CloudFormation template quotas (docs/design.md 9)."""

from __future__ import annotations

from collections.abc import Iterator

from ceap_templates.validation.model import Build
from ceap_templates.validation.policy import MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, MAX_TEMPLATE_BYTES
from ceap_templates.validation.rule import Hit, Rule, hit


def check_quotas(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        counts = {
            "bytes": (stack.size, MAX_TEMPLATE_BYTES),
            "resources": (len(stack.resources), MAX_RESOURCES),
            "outputs": (len(stack.template.get("Outputs", {})), MAX_OUTPUTS),
            "parameters": (len(stack.template.get("Parameters", {})), MAX_PARAMETERS),
        }
        for what, (count, limit) in counts.items():
            if count > limit:
                yield hit(stack, "-", f"{count} {what}; CloudFormation allows at most {limit}")


RULES = (
    Rule(
        "LIM001",
        "templates stay within CloudFormation quotas (1 MB, 500 resources, 200 outputs, 200 parameters)",
        "docs/design.md 9; https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html",
        check_quotas,
        per_template=True,
    ),
)
