"""Rules as data: an id, a one-line description, a source, and a check over the parsed build."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ceap_templates.validation.model import Build, Stack


class Hit(NamedTuple):
    """What a check reports: where (``dev/CeapDatabase-dev``), which resource, and the message."""

    location: str
    resource: str
    message: str


def hit(stack: Stack, resource: str, message: str) -> Hit:
    """A :class:`Hit` located at ``stack`` (``resource`` is a logical id, ``Outputs.X`` or ``-``)."""
    return Hit(stack.location, resource, message)


@dataclass(frozen=True, order=True)
class Finding:
    """One line of ``ceap-templates validate``: ``ID stack/resource: message``."""

    location: str
    resource: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} {self.location}/{self.resource}: {self.message}"


Check = Callable[["Build"], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """A named check.

    Parameters
    ----------
    id:
        Stable identifier, ``{GROUP}{NNN}`` (``REF001``); findings and README use it.
    description:
        One line: what must hold.
    source:
        Why: a spec section (``docs/design.md 5``) or a documentation URL.
    check:
        Pure function over the parsed build yielding :class:`Hit` for each violation.
    external:
        ``True`` for rules that run an external linter over the files (cfn-lint): slow, so
        tests of the custom rules can leave them out.
    per_template:
        ``True`` when the check reads one template at a time (plus its environment's settings:
        name, region, retainData, physicalNames): its results are cached by the template's hash.
        Rules that compare templates (references, waves, manifest, migration) are ``False`` and
        always run.
    reads_incomplete:
        ``True`` for the rule that reports loading problems: it also sees environments with a
        missing or unparsable template, which every other cross-template rule skips.
    """

    id: str
    description: str
    source: str
    check: Check
    external: bool = False
    per_template: bool = False
    reads_incomplete: bool = False
