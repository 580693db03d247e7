"""Documents of the build (``ARCHITECTURE.md``) and any ``--docs`` name legacy stacks only as legacy."""

from __future__ import annotations

from collections.abc import Iterator

from ceap_templates.validation.docs_check import stale_references
from ceap_templates.validation.model import Build
from ceap_templates.validation.rule import Hit, Rule


def check_documents(build: Build) -> Iterator[Hit]:
    for env in build.environments.values():
        for path, text in env.documents.items():
            for stale in stale_references(path, text):
                yield Hit(f"{env.name}/{path}", f"L{stale.line}", stale.message)
    for path, text in build.documents.items():
        for stale in stale_references(path, text):
            yield Hit(path, f"L{stale.line}", stale.message)


RULES = (
    Rule(
        "DOC001",
        "documentation names legacy stacks only in a legacy/migration context (line, heading or migration document)",
        "seed 000 Property 6 (Req. 6.4); rule in ceap_templates/validation/docs_check.py",
        check_documents,
    ),
)
