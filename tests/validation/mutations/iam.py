"""Mutations of a real build: Least privilege (IAM rules)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from ..expected import ROLE_NEEDS
from .draft import (
    ROLE,
    Draft,
    Mutation,
    Site,
    _location,
    props_of,
    sites,
)

# ---- IAM ------------------------------------------------------------------------------------


def _role_statements(env: Environment, predicate: Callable[[dict[str, Any]], bool]) -> list[tuple[Site, int, int]]:
    found = []
    for site in sites(env, ROLE):
        key = Draft(env).holders(site)[0]
        role = env.layouts[key[0]].stacks[key[1]].resources[site[1]]
        for p, policy in enumerate(props_of(role).get("Policies", [])):
            for s, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                if statement.get("Effect") == "Allow" and predicate(statement):
                    found.append((site, p, s))
    return sorted(found)


def _statements(draft: Draft, target: tuple[Site, int, int]) -> Iterator[dict[str, Any]]:
    site, p, s = target
    for _, role in draft.resources(site):
        yield props_of(role)["Policies"][p]["PolicyDocument"]["Statement"][s]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_action(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    action = data.draw(st.sampled_from(["*", "s3:*", "dynamodb:Get*", "logs:*"]))
    for statement in _statements(draft, target):
        statement["Action"] = [*_as_list(statement["Action"]), action]
    return {_location(draft, k) for k in draft.holders(target[0])}


def wildcard_resource(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    for statement in _statements(draft, target):
        statement["Resource"] = [*_as_list(statement["Resource"]), "*"]
    return {_location(draft, k) for k in draft.holders(target[0])}


def loosen_metrics_condition(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    """PutMetricData on '*' is scoped only by its namespace condition (AWS Service Authorization
    Reference, CloudWatch): drop it, or turn the exact match into a pattern."""
    drop = data.draw(st.booleans())
    for statement in _statements(draft, target):
        if drop:
            del statement["Condition"]
        else:
            statement["Condition"] = {"StringLike": statement["Condition"]["StringEquals"]}
    return {_location(draft, k) for k in draft.holders(target[0])}


def extra_principal(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    principal = data.draw(
        st.sampled_from([{"AWS": "arn:aws:iam::123456789012:root"}, {"Service": "ec2.amazonaws.com"}])
    )
    for _, role in draft.resources(site):
        statement = props_of(role)["AssumeRolePolicyDocument"]["Statement"][0]
        for key, value in principal.items():
            statement["Principal"][key] = [*_as_list(statement["Principal"].get(key, [])), value]
    return {_location(draft, k) for k in draft.holders(site)}


def _candidates_grants(env: Environment) -> list[tuple[Site, int, int]]:
    def candidates_write(statement: dict[str, Any]) -> bool:
        return "Candidates" in json.dumps(statement.get("Resource")) and "dynamodb:Query" not in statement["Action"]

    return _role_statements(env, candidates_write)


def query_without_index(draft: Draft, target: tuple[Site, int, int], data: st.DataObject) -> set[str]:
    for statement in _statements(draft, target):
        statement["Action"] = [*_as_list(statement["Action"]), "dynamodb:Query"]
    return {_location(draft, k) for k in draft.holders(target[0])}


def _map_children_grant(statement: dict[str, Any]) -> bool:
    """A grant on ``execution:{machine}/*``: the Distributed Map children of the role's own machine
    (issue 16), which ASL011 requires, not the integration IAM005 checks (``execution:{machine}:*``)."""
    return bool(re.search(r":execution:[^:/\"]+/\*", json.dumps(statement.get("Resource"))))


def _needed_grants(env: Environment) -> list[tuple[Site, int, int, str]]:
    """(role site, policy, statement, action) for each action its service needs (ROLE_NEEDS)."""
    found = []
    for site in sites(env, ROLE):
        key = Draft(env).holders(site)[0]
        role = env.layouts[key[0]].stacks[key[1]].resources[site[1]]
        service = props_of(role)["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"][0]
        for p, policy in enumerate(props_of(role).get("Policies", [])):
            for s, statement in enumerate(policy["PolicyDocument"]["Statement"]):
                for action in ROLE_NEEDS.get(service, ()):
                    if action in _as_list(statement.get("Action")) and not _map_children_grant(statement):
                        found.append((site, p, s, action))
    return sorted(found)


def drop_needed_action(draft: Draft, target: tuple[Site, int, int, str], data: st.DataObject) -> set[str]:
    site, p, s, action = target
    for _, role in draft.resources(site):
        statements = props_of(role)["Policies"][p]["PolicyDocument"]["Statement"]
        statements[s]["Action"] = [a for a in _as_list(statements[s]["Action"]) if a != action]
        if not statements[s]["Action"]:
            del statements[s]
    return {_location(draft, k) for k in draft.holders(site)}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "add a wildcard action",
        "IAM001",
        lambda e: _role_statements(e, lambda s: "*" not in _as_list(s.get("Resource"))),
        wildcard_action,
    ),
    Mutation(
        "add Resource '*' to a scoped grant",
        "IAM002",
        lambda e: _role_statements(e, lambda s: "*" not in _as_list(s.get("Resource"))),
        wildcard_resource,
    ),
    Mutation(
        "PutMetricData on '*' without an exact namespace condition",
        "IAM002",
        lambda e: _role_statements(e, lambda s: "cloudwatch:PutMetricData" in _as_list(s.get("Action"))),
        loosen_metrics_condition,
    ),
    Mutation("role trusts a second principal", "IAM003", lambda e: sites(e, ROLE), extra_principal),
    Mutation("query a GSI table without /index/*", "IAM004", _candidates_grants, query_without_index),
    Mutation("drop an action the role's service needs", "IAM005", _needed_grants, drop_needed_action),
)
