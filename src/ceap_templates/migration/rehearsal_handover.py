"""Templates of the blue-green hand-over of the kept names (docs/migration.md): retain, strip, import.

The hand-over of one holder stack to its destination: (1) update the holder with ``DeletionPolicy:
Retain`` on the kept resources, (2) update it without them (references to them become their live
values, so what stays behaves the same), (3) create the destination without them if it does not
exist, (4) ``create-change-set --change-set-type IMPORT`` with the destination's full template and
the kept resources' identifiers. ``python -m ceap_templates.migration.rehearsal_handover``:

- ``pairs BUILD_ENV_DIR [--back]``: ``holder<TAB>destination<TAB>logical IDs,...<TAB>template of the
  destination`` per holder (``--back``: from the new stacks to legacy, the rollback);
- ``retain TEMPLATE --logical IDS --out FILE`` and ``strip TEMPLATE --logical IDS --literals FILE --out FILE``;
- ``literals --stack NAME --logical IDS --out FILE``: Ref and attribute values of the live resources;
- ``imports TEMPLATE --logical IDS --literals FILE --out FILE``: the ``--resources-to-import`` document.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from ceap_templates.layouts import CONSOLIDATED, LEGACY

#: Identifier property per importable type (CloudFormation resource type schemas).
IDENTIFIER: Final = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Events::Rule": "Arn",
    "AWS::StepFunctions::StateMachine": "Arn",
}


def pairs(build_env_dir: str | Path, back: bool = False) -> list[tuple[str, str, list[str], str]]:
    """(holder, destination, logical IDs, destination template path) of the kept names."""
    from ceap_templates.validation.model import load_build
    from ceap_templates.validation.rules.collision import hand_overs

    folder = Path(build_env_dir)
    env = load_build(folder.parent).environments[folder.name]
    grouped: dict[tuple[str, str], tuple[list[str], str]] = {}
    for c in hand_overs(env):
        source, target = (c.new.stack, c.legacy.stack) if back else (c.legacy.stack, c.new.stack)
        ids, _ = grouped.setdefault((source.name, target.name), ([], str(folder / target.path)))
        ids.append(c.new.logical_id if not back else c.legacy.logical_id)
    return [(s, t, sorted(set(ids)), path) for (s, t), (ids, path) in sorted(grouped.items())]


def retain(template: Mapping[str, Any], logical: Sequence[str], only_missing: bool = False) -> dict[str, Any]:
    """``template`` with DeletionPolicy and UpdateReplacePolicy Retain on ``logical``.

    ``only_missing``: keep a policy the template states (an import needs one, any one).
    """
    out: dict[str, Any] = json.loads(json.dumps(template))
    for name in logical:
        if only_missing and "DeletionPolicy" in out["Resources"][name]:
            continue
        out["Resources"][name]["DeletionPolicy"] = "Retain"
        out["Resources"][name]["UpdateReplacePolicy"] = "Retain"
    return out


def _literal(value: Any, literals: Mapping[str, Mapping[str, str]]) -> Any:
    if isinstance(value, list):
        return [_literal(v, literals) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"} and value["Ref"] in literals:
        return literals[value["Ref"]]["Ref"]
    if set(value) == {"Fn::GetAtt"}:
        target, attribute = (
            value["Fn::GetAtt"] if isinstance(value["Fn::GetAtt"], list) else value["Fn::GetAtt"].split(".", 1)
        )
        if target in literals:
            if attribute not in literals[target]:
                raise KeyError(f"no live value of {target}.{attribute}")
            return literals[target][attribute]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        text = value["Fn::Sub"]
        for name, values in literals.items():
            for attribute, live in values.items():
                text = text.replace("${" + (name if attribute == "Ref" else f"{name}.{attribute}") + "}", live)
        return {"Fn::Sub": text}
    return {k: _literal(v, literals) for k, v in value.items()}


def strip(
    template: Mapping[str, Any], logical: Sequence[str], literals: Mapping[str, Mapping[str, str]]
) -> dict[str, Any]:
    """``template`` without ``logical``; references to them become their live values."""
    out: dict[str, Any] = json.loads(json.dumps(template))
    for name in logical:
        del out["Resources"][name]
    for resource in out["Resources"].values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            depends = [depends]
        if depends is not None:
            kept = [d for d in depends if d not in logical]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    gone = {k: v for k, v in literals.items() if k in logical}
    out["Resources"] = _literal(out["Resources"], gone)
    if "Outputs" in out:
        out["Outputs"] = _literal(out["Outputs"], gone)
    return out


def imports(
    template: Mapping[str, Any], logical: Sequence[str], literals: Mapping[str, Mapping[str, str]]
) -> list[dict[str, Any]]:
    """The ``--resources-to-import`` entries of ``logical``."""
    entries = []
    for name in logical:
        kind = template["Resources"][name]["Type"]
        key = IDENTIFIER[kind]
        value = literals[name]["Ref" if key == "TableName" else "Arn"]
        entries.append({"ResourceType": kind, "LogicalResourceId": name, "ResourceIdentifier": {key: value}})
    return entries


def live_literals(stack: str, logical: Sequence[str]) -> dict[str, dict[str, str]]:
    """Ref and attributes of the live kept resources of ``stack`` (boto3; AWS_ENDPOINT_URL honoured)."""
    import boto3  # type: ignore[import-untyped]

    cfn, ddb, events, sfn = (boto3.client(s) for s in ("cloudformation", "dynamodb", "events", "stepfunctions"))
    found: dict[str, dict[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            name, kind, physical = r["LogicalResourceId"], r["ResourceType"], r.get("PhysicalResourceId", "")
            if name not in logical:
                continue
            if kind == "AWS::DynamoDB::Table":
                table = ddb.describe_table(TableName=physical)["Table"]
                found[name] = {"Ref": physical, "Arn": table["TableArn"]}
                if table.get("LatestStreamArn"):
                    found[name]["StreamArn"] = table["LatestStreamArn"]
            elif kind == "AWS::Events::Rule":
                found[name] = {"Ref": physical, "Arn": events.describe_rule(Name=physical)["Arn"]}
            elif kind == "AWS::StepFunctions::StateMachine":
                machine = sfn.describe_state_machine(stateMachineArn=physical)
                found[name] = {"Ref": physical, "Arn": physical, "Name": machine["name"]}
    missing = sorted(set(logical) - set(found))
    if missing:
        raise LookupError(f"{stack} holds no {', '.join(missing)}")
    return found


def _read(path: str) -> Any:
    return json.loads(Path(path).read_text())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehearsal_handover", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pairs")
    p.add_argument("build_env_dir")
    p.add_argument("--back", action="store_true")
    for name in ("retain", "strip", "imports"):
        c = sub.add_parser(name)
        c.add_argument("template")
        c.add_argument("--logical", required=True)
        c.add_argument("--out", required=True)
        if name != "retain":
            c.add_argument("--literals", required=True)
        else:
            c.add_argument("--only-missing", action="store_true")
    lit = sub.add_parser("literals")
    lit.add_argument("--stack", required=True)
    lit.add_argument("--logical", required=True)
    lit.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "pairs":
            for source, target, ids, path in pairs(args.build_env_dir, args.back):
                print(f"{source}\t{target}\t{','.join(ids)}\t{path}")
            return 0
        logical = args.logical.split(",")
        if args.command == "literals":
            result: Any = live_literals(args.stack, logical)
        elif args.command == "retain":
            result = retain(_read(args.template), logical, args.only_missing)
        elif args.command == "strip":
            result = strip(_read(args.template), logical, _read(args.literals))
        else:
            result = imports(_read(args.template), logical, _read(args.literals))
        Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True))
        return 0
    except (OSError, ValueError, KeyError, LookupError) as error:
        print(f"rehearsal_handover: error: {error}", file=sys.stderr)
        return 2


__all__ = ["CONSOLIDATED", "LEGACY", "imports", "pairs", "retain", "strip"]

if __name__ == "__main__":
    sys.exit(main())
