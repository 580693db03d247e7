"""Mutations of a real build: Deletion policies and hand-off expiry (DATA rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from ..expected import LEGACY_NAMES
from .draft import (
    Draft,
    Mutation,
    Site,
    _location,
    props_of,
    sites,
)

STATEFUL = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::KMS::Key")


def drop_policy(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    which = data.draw(st.sampled_from(["UpdateReplacePolicy", "DeletionPolicy"]))
    for _, resource in draft.resources(site):
        del resource[which]
    return {_location(draft, k) for k in draft.holders(site)}


def _data_sites(env: Environment) -> list[Site]:
    ephemeral = {
        LEGACY_NAMES[i].format(env=env.name) for i in ("ScoreCacheTable789CCB88", "DeduplicationTableAD30DFB7")
    }
    return sites(
        env,
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::Logs::LogGroup",
        where=lambda s, i, r: props_of(r).get("TableName") not in ephemeral,
    )


def retention_flipped(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    policy = "Delete" if draft.env.retain_data else "Retain"
    for _, resource in draft.resources(site):
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = policy
    return {_location(draft, k) for k in draft.holders(site)}


def expiry_changed(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    days = data.draw(st.sampled_from([1, 6, 8, 30, 365]))
    for _, resource in draft.resources(site):
        for rule in props_of(resource)["LifecycleConfiguration"]["Rules"]:
            if "ExpirationInDays" in rule:
                rule["ExpirationInDays"] = days
    return {_location(draft, k) for k in draft.holders(site)}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("stateful resource without explicit policy", "DATA001", lambda e: sites(e, *STATEFUL), drop_policy),
    Mutation("retention against retainData", "DATA002", _data_sites, retention_flipped),
    Mutation("hand-off expiry changed", "DATA003", lambda e: sites(e, "AWS::S3::Bucket"), expiry_changed),
)
