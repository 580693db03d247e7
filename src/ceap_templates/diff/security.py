"""Security changes of one resource: IAM statements and encryption / public-access settings.

Statements are found wherever a policy document sits (``PolicyDocument``, ``Policies[].PolicyDocument``,
``AssumeRolePolicyDocument``, ``KeyPolicy``...), labelled by policy name, and compared as canonical
sets. A change *broadens* access when a grant is added that no old grant covers (a new action,
resource or principal, a wildcard, a dropped condition), when a Deny, a managed policy or a
``Lambda::Permission`` grant changes that way, or when an encryption / public-access setting is
removed or switched off.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ceap_templates.diff import normalise
from ceap_templates.diff.normalise import canonical, is_policy_document, sort_key
from ceap_templates.diff.paths import format_path

#: Settings that protect data at rest or from the public (S3, SQS, SNS, DynamoDB, Logs, Glue,
#: Step Functions). https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
SECURITY_SETTINGS = frozenset(
    {
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "SSESpecification",
        "KmsMasterKeyId",
        "KMSMasterKeyID",
        "SqsManagedSseEnabled",
        "KmsKeyId",
        "EncryptionConfiguration",
        "EncryptionConfigurations",
    }
)
_OFF = frozenset({"false", "DISABLED"})
#: What narrows a Lambda::Permission grant beyond action, principal and function (a condition).
_PERMISSION_CONDITIONS = ("SourceArn", "SourceAccount", "PrincipalOrgID", "FunctionUrlAuthType", "EventSourceToken")


@dataclass(frozen=True)
class Grant:
    effect: str
    action: str
    resource: str
    principal: str
    condition: str


def _label(path: tuple[str | int, ...], parent: Mapping[str, Any] | None, key: str) -> str:
    if parent is not None and isinstance(parent.get("PolicyName"), str):
        return str(parent["PolicyName"])
    return format_path((*path, key))


def _documents(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if is_policy_document(value):
                yield _label(path, node, key), value
            else:
                yield from _documents(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _documents(item, (*path, index))


def statements(resource: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every canonical statement of the resource, each with its ``policy`` label."""
    properties = normalise.properties(resource)
    found: list[dict[str, Any]] = []
    for label, document in _documents(properties):
        for item in canonical(document)["Statement"]:
            found.append({"policy": label, **item} if isinstance(item, dict) else {"policy": label, "value": item})
    arns = properties.get("ManagedPolicyArns")
    for arn in arns if isinstance(arns, list) else []:
        found.append({"policy": "ManagedPolicyArns", "Effect": "Allow", "ManagedPolicyArn": canonical(arn)})
    if resource.get("Type") == "AWS::Lambda::Permission":
        grant: dict[str, Any] = {"policy": "Lambda::Permission", "Effect": "Allow"}
        grant["Action"] = [canonical(properties.get("Action"))]
        grant["Principal"] = canonical(properties.get("Principal"))
        grant["Resource"] = [canonical(properties.get("FunctionName"))]
        condition = {k: canonical(properties[k]) for k in _PERMISSION_CONDITIONS if k in properties}
        if condition:
            grant["Condition"] = condition
        found.append(grant)
    return sorted(found, key=sort_key)


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else sort_key(v) for v in items]


def _principals(value: Any) -> list[str]:
    if value is None:
        return [""]
    if isinstance(value, dict) and not any(k.startswith("Fn::") or k == "Ref" for k in value):
        return [f"{k}:{p}" for k, v in sorted(value.items()) for p in _strings(v)]
    return _strings(value)


def grants(statement: Mapping[str, Any]) -> set[Grant]:
    """A statement as single grants; ``Not*`` forms and managed policies are grants of their own."""
    effect = str(statement.get("Effect", "Allow"))
    condition = sort_key(statement.get("Condition", {}))
    if "Action" not in statement or "NotResource" in statement or "NotPrincipal" in statement:
        return {Grant(effect, sort_key(dict(statement)), "", "", condition)}
    actions = _strings(statement["Action"])
    resources = _strings(statement.get("Resource", ""))
    principals = _principals(statement.get("Principal"))
    return {Grant(effect, a, r, p, condition) for a in actions for r in resources for p in principals}


def _matches(pattern: str, value: str, case: bool) -> bool:
    if pattern == value:
        return True
    if "*" not in pattern and "?" not in pattern:
        return False
    return fnmatch.fnmatchcase(value.lower(), pattern.lower()) if not case else fnmatch.fnmatchcase(value, pattern)


def _covered(grant: Grant, olds: set[Grant]) -> bool:
    """An old grant allows at least as much: same or wider action/resource/principal, no extra condition."""
    return any(
        old.effect == grant.effect
        and _matches(old.action, grant.action, case=False)
        and _matches(old.resource, grant.resource, case=True)
        and _matches(old.principal, grant.principal, case=True)
        and old.condition in ("{}", grant.condition)
        for old in olds
    )


def broadened(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> bool:
    """True when ``after`` allows something ``before`` did not (or denies less)."""
    old = {g for s in before for g in grants(s)}
    new = {g for s in after for g in grants(s)}
    allows = {g for g in new if g.effect != "Deny"}
    denies_dropped = {g for g in old if g.effect == "Deny"} - new
    return any(not _covered(g, {o for o in old if o.effect != "Deny"}) for g in allows) or bool(denies_dropped)


def _settings(node: Any, path: tuple[str | int, ...] = (), inside: bool = False) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _settings(value, (*path, key), inside or key in SECURITY_SETTINGS)
    elif inside:
        yield format_path(path), node


def settings(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Leaf values of the security settings: ``Properties.BucketEncryption...SSEAlgorithm`` -> value."""
    return dict(_settings(normalise.properties(resource), ("Properties",)))


def _off(value: Any) -> bool:
    scalar = canonical(value)
    return isinstance(scalar, str) and scalar in _OFF


def weakened(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """A protecting setting removed or switched off."""
    for path, value in before.items():
        if path not in after:
            return True
        if _off(after[path]) and not _off(value):
            return True
    return False


def compare(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[bool, list[Any], list[Any]] | None:
    """``(broadened, added, removed)`` for one resource's two versions, or None when equal."""
    old_statements = statements(old) if old else []
    new_statements = statements(new) if new else []
    # Settings matter on a kept resource; one added or removed whole is a resource change already.
    both = old is not None and new is not None
    old_settings = settings(old) if both and old else {}
    new_settings = settings(new) if both and new else {}
    old_keys = {sort_key(s) for s in old_statements}
    new_keys = {sort_key(s) for s in new_statements}
    added: list[Any] = [s for s in new_statements if sort_key(s) not in old_keys]
    removed: list[Any] = [s for s in old_statements if sort_key(s) not in new_keys]
    for path in sorted(old_settings.keys() | new_settings.keys()):
        before, after = old_settings.get(path), new_settings.get(path)
        if canonical(before) == canonical(after):
            continue
        if path in new_settings:
            added.append({"setting": path, "value": after})
        if path in old_settings:
            removed.append({"setting": path, "value": before})
    if not added and not removed:
        return None
    return broadened(old_statements, new_statements) or weakened(old_settings, new_settings), added, removed
