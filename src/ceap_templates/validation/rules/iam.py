"""Least privilege (seed 002 Property 42): no wildcard actions, ``*`` resources only where AWS needs them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.canonical import Resolver
from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.policy import (
    CONDITION_SCOPED_ACTIONS,
    INTEGRATION_ACTIONS,
    ROLE_ACTIONS,
    UNSCOPED_ACTIONS,
)
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import target
from ceap_templates.validation.rules.asl import tasks

IDENTITY = "identity"
RESOURCE = "resource"
KEY = "key"
#: Where policy documents live: (type, property, kind). A KMS key policy's ``Resource: "*"`` means
#: "this key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
_DOCUMENTS = (
    ("AWS::IAM::Policy", "PolicyDocument", IDENTITY),
    ("AWS::IAM::ManagedPolicy", "PolicyDocument", IDENTITY),
    ("AWS::S3::BucketPolicy", "PolicyDocument", RESOURCE),
    ("AWS::SQS::QueuePolicy", "PolicyDocument", RESOURCE),
    ("AWS::SNS::TopicPolicy", "PolicyDocument", RESOURCE),
    ("AWS::KMS::Key", "KeyPolicy", KEY),
)
_UNSCOPED = {a.lower() for a in UNSCOPED_ACTIONS}
_CONDITION_SCOPED = {a.lower(): key for a, key in CONDITION_SCOPED_ACTIONS.items()}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def documents(stack: Stack) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """``(logical id, kind, policy document)`` of every inline policy of ``stack``."""
    for logical_id, resource in stack.resources.items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::IAM::Role":
            for policy in _list(props.get("Policies")):
                if isinstance(policy, dict) and isinstance(policy.get("PolicyDocument"), dict):
                    yield logical_id, IDENTITY, policy["PolicyDocument"]
            continue
        for type_, prop, kind in _DOCUMENTS:
            if resource.get("Type") == type_ and isinstance(props.get(prop), dict):
                yield logical_id, kind, props[prop]


def statements(stack: Stack) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    for logical_id, kind, document in documents(stack):
        for statement in _list(document.get("Statement")):
            if isinstance(statement, dict):
                yield logical_id, kind, statement


def _label(statement: Mapping[str, Any]) -> str:
    return f"statement {statement.get('Sid', '(no Sid)')!r}"


# ---- IAM001 ---------------------------------------------------------------------------------
def check_wildcard_actions(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, kind, statement in statements(stack):
            if statement.get("Effect") != "Allow":
                continue
            actions = [str(a) for a in _list(statement.get("Action"))]
            if "NotAction" in statement:
                yield hit(stack, logical_id, f"{_label(statement)} allows NotAction (every action but some)")
            if "*" in actions:
                yield hit(stack, logical_id, f"{_label(statement)} allows Action '*'")
            elif kind == IDENTITY:
                wild = [a for a in actions if "*" in a]
                if wild:
                    yield hit(
                        stack, logical_id, f"{_label(statement)} grants wildcard actions {wild}; list the actions"
                    )


# ---- IAM002 ---------------------------------------------------------------------------------
def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    """Condition keys a statement narrows with ``StringEquals`` (an exact value, not a pattern)."""
    condition = statement.get("Condition")
    equals = condition.get("StringEquals") if isinstance(condition, dict) else None
    return set(equals) if isinstance(equals, dict) else set()


def check_wildcard_resources(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, kind, statement in statements(stack):
            if statement.get("Effect") != "Allow" or kind == KEY:
                continue
            if "NotResource" in statement:
                yield hit(stack, logical_id, f"{_label(statement)} allows NotResource")
            if "*" not in _list(statement.get("Resource")):
                continue
            keys = _condition_keys(statement)
            scoped = sorted(
                str(a)
                for a in _list(statement.get("Action"))
                if str(a).lower() not in _UNSCOPED and _CONDITION_SCOPED.get(str(a).lower()) not in keys
            )
            if scoped:
                yield hit(
                    stack,
                    logical_id,
                    f"{_label(statement)} has Resource '*' for {scoped}, which AWS lets you scope to ARNs "
                    "(or, for policy.CONDITION_SCOPED_ACTIONS, to StringEquals on their condition key)",
                )


# ---- IAM003 ---------------------------------------------------------------------------------
def check_trust(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, role in stack.of_type("AWS::IAM::Role"):
            trust = role.get("Properties", {}).get("AssumeRolePolicyDocument", {})
            allows = [s for s in _list(trust.get("Statement")) if isinstance(s, dict) and s.get("Effect") == "Allow"]
            services: list[str] = []
            others: list[str] = []
            for statement in allows:
                principal = statement.get("Principal")
                if isinstance(principal, dict):
                    services += [str(p) for p in _list(principal.get("Service"))]
                    others += [f"{k} principal" for k in principal if k != "Service"]
                else:
                    others.append(repr(principal))
            if len(services) != 1 or others:
                yield hit(
                    stack,
                    logical_id,
                    f"trust policy admits {services + others or 'nobody'}; "
                    "a role is assumed by exactly one AWS service",
                )


# ---- IAM004 ---------------------------------------------------------------------------------
def _indexed_tables(build: Build) -> Iterator[tuple[Stack, Resolver, set[str]]]:
    for env in build.environments.values():
        for plan in env.plans():
            stacks = env.plan_stacks(plan)
            tables = {
                logical_id
                for s in stacks.values()
                for logical_id, table in s.of_type("AWS::DynamoDB::Table")
                if table.get("Properties", {}).get("GlobalSecondaryIndexes")
            }
            resolver = Resolver(stacks)
            for stack in stacks.values():
                yield stack, resolver, tables


def _index_arn_of(canonical: Any) -> Any:
    """The table ARN an ``.../index/*`` resource is built from, if it is one."""
    if isinstance(canonical, tuple) and canonical[0] == "Sub" and str(canonical[1]).endswith("/index/*"):
        text, variables = str(canonical[1]), canonical[2]
        token = text[2 : text.index("}")] if text.startswith("${") else ""
        if token in variables:
            return variables[token]
        if token.endswith(".Arn"):
            return ("GetAtt", token.removesuffix(".Arn"), "Arn")
    return None


def check_index_grants(build: Build) -> Iterator[Hit]:
    for stack, resolver, tables in _indexed_tables(build):
        for logical_id, kind, statement in statements(stack):
            actions = {str(a).lower() for a in _list(statement.get("Action"))}
            if (
                kind != IDENTITY
                or statement.get("Effect") != "Allow"
                or not actions & {"dynamodb:query", "dynamodb:scan"}
            ):
                continue
            resources = [resolver.canonical(stack, r) for r in _list(statement.get("Resource"))]
            index_of = [_index_arn_of(r) for r in resources]
            for resource in resources:
                is_table = isinstance(resource, tuple) and resource[:1] == ("GetAtt",) and resource[1] in tables
                if is_table and resource not in index_of:
                    yield hit(
                        stack,
                        logical_id,
                        f"{_label(statement)} queries table {resource[1]} (it has GSIs) without its /index/* ARN",
                    )


# ---- IAM005 ---------------------------------------------------------------------------------
def _trusted_service(role: Mapping[str, Any]) -> str | None:
    trust = role.get("Properties", {}).get("AssumeRolePolicyDocument", {})
    services = [
        str(p)
        for s in _list(trust.get("Statement"))
        if isinstance(s, dict) and isinstance(s.get("Principal"), dict)
        for p in _list(s["Principal"].get("Service"))
    ]
    return services[0] if len(services) == 1 else None  # IAM003 reports the others


def _integrations(stack: Stack, role_id: str) -> set[str]:
    """Task integrations of the state machines that run as ``role_id``."""
    found: set[str] = set()
    for _, machine in stack.of_type("AWS::StepFunctions::StateMachine"):
        p = machine.get("Properties", {})
        if target(p.get("RoleArn")) == role_id and isinstance(p.get("Definition"), dict):
            found |= {str(state.get("Resource")) for _, state, _ in tasks(p["Definition"])}
    return found


def _granted(stack: Stack, role_id: str) -> set[str]:
    return {
        str(a).lower()
        for logical_id, kind, s in statements(stack)
        if logical_id == role_id and kind == IDENTITY and s.get("Effect") == "Allow"
        for a in _list(s.get("Action"))
    }


def check_role_actions(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, role in stack.of_type("AWS::IAM::Role"):
            service = _trusted_service(role)
            if service is None or service not in ROLE_ACTIONS:
                continue  # pipes: PIPE001; others: IAM003
            needed = set(ROLE_ACTIONS[service])
            for integration in _integrations(stack, logical_id):
                needed |= INTEGRATION_ACTIONS.get(integration, set())
            missing = sorted(a for a in needed if a.lower() not in _granted(stack, logical_id))
            if missing:
                yield hit(stack, logical_id, f"{service} role lacks {', '.join(missing)}")


RULES = (
    Rule(
        "IAM001",
        "no policy allows Action '*' or NotAction; identity policies list actions without wildcards",
        "docs/design.md 12; seed 002 Property 42; https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
        check_wildcard_actions,
        per_template=True,
    ),
    Rule(
        "IAM002",
        "Resource '*' only for actions AWS cannot scope (policy.UNSCOPED_ACTIONS: X-Ray, log delivery; "
        "policy.CONDITION_SCOPED_ACTIONS only with their condition key: PutMetricData with "
        "StringEquals cloudwatch:namespace); never NotResource",
        "docs/design.md 12; "
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
        check_wildcard_resources,
        per_template=True,
    ),
    Rule(
        "IAM003",
        "each role is assumed by exactly one AWS service principal",
        "seed 002 Property 42 (one role per function, job, machine, pipe, rule)",
        check_trust,
        per_template=True,
    ),
    Rule(
        "IAM004",
        "a Query/Scan grant on a table with GSIs includes the table's /index/* ARN",
        "docs/legacy-system.md defects (GSI queries granted without index ARNs)",
        check_index_grants,
    ),
    Rule(
        "IAM005",
        "each role grants what its service needs: Lambda logs and X-Ray; state machines log delivery, X-Ray and "
        "the actions of their integrations; Glue its script and logs; EventBridge StartExecution",
        "policy.ROLE_ACTIONS, policy.INTEGRATION_ACTIONS; "
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html",
        check_role_actions,
        per_template=True,
    ),
)
