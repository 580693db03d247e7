"""Mutations of a real build, one module per rule group (like the rules): each breaks one thing
that exactly one rule must report. :mod:`.draft` holds the copy-on-write editing machinery."""

from __future__ import annotations

from . import (
    asl,
    data,
    distributed_map,
    docs,
    iam,
    legacy,
    limits,
    manifest,
    naming,
    operations,
    pipes,
    references,
    security,
    sizing,
)
from .draft import PLATFORM, Draft, Mutation

MUTATIONS: tuple[Mutation, ...] = tuple(
    m
    for module in (
        references,
        manifest,
        asl,
        distributed_map,
        naming,
        legacy,
        iam,
        security,
        operations,
        data,
        pipes,
        limits,
        sizing,
        docs,
    )
    for m in module.MUTATIONS
)

__all__ = ["MUTATIONS", "PLATFORM", "Draft", "Mutation"]
