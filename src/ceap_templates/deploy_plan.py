"""What the deploy scripts read from ``build/{env}/manifest.json``, so no script re-derives a name.

``python -m ceap_templates.deploy_plan COMMAND BUILD_ENV_DIR ...`` prints tab-separated lines for
bash (``scripts/lib/``). Bad input is one ``error:`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceap_templates.errors import CeapError

#: Layout names of ``deploy.sh --layout``: the product (``manifest.deploy``) or the legacy stacks.
PRODUCT = "consolidated"
LEGACY = "legacy"
LAYOUTS = (PRODUCT, LEGACY)

#: Steps of a workflow that the configuration does not list (seed 004: the ``realtime`` express
#: and ``batch`` standard workflows; HeavyETL is a Glue step, which only standard machines may run).
DEFAULT_STEPS: Mapping[str, list[Any]] = {
    "express": ["ETL", "Filter", "Score", "Store", "Reactive"],
    "standard": ["ETL", "Filter", {"glue": "HeavyETL"}, "Score", "Store", "Reactive"],
}


@dataclass(frozen=True)
class PlannedStack:
    wave: int
    name: str
    template: Path
    sha256: str
    parameters: Mapping[str, Any]
    upload_to_s3: bool
    size: int

    @property
    def parameters_sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.parameters, sort_keys=True).encode()).hexdigest()


class Manifest:
    """One environment's build folder, read through its manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        path = folder / "manifest.json"
        if not path.is_file():
            raise CeapError(f"{path}: no manifest (run `ceap-templates build --out {folder.parent}` first)")
        try:
            self.data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if not (self.data["deploy"]["waves"] and self.data["layouts"] and self.data["code"]):
                raise KeyError("deploy.waves, layouts or code is empty")
        except (ValueError, KeyError, TypeError) as error:
            raise CeapError(f"{path}: not a ceap-templates manifest ({error.__class__.__name__}: {error})") from None

    @property
    def environment(self) -> str:
        return str(self.data["environment"])

    def _stack_entries(self, layouts: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        entries: dict[str, Mapping[str, Any]] = {}
        for layout in layouts:
            entries.update(self.data["layouts"][layout]["stacks"])
        return entries

    def waves(self, layout: str) -> list[list[str]]:
        if layout == PRODUCT:
            return [list(w) for w in self.data["deploy"]["waves"]]
        return [list(w) for w in self.data["layouts"][layout]["waves"]]

    def entries(self, layout: str) -> dict[str, Mapping[str, Any]]:
        layouts = self.data["deploy"]["layouts"] if layout == PRODUCT else [layout]
        return self._stack_entries(layouts)

    def plan(self, layout: str, only: Sequence[str] = ()) -> list[PlannedStack]:
        entries = self.entries(layout)
        unknown = sorted(set(only) - set(entries))
        if unknown:
            raise CeapError(
                f"--only {unknown[0]}: not a stack of the {layout} layout of {self.environment} "
                f"(allowed: {', '.join(sorted(entries))})"
            )
        planned = []
        for number, wave in enumerate(self.waves(layout), start=1):
            for name in wave:
                if only and name not in only:
                    continue
                entry = entries[name]
                planned.append(
                    PlannedStack(
                        number,
                        name,
                        (self.folder / entry["template"]).resolve(),
                        entry["sha256"],
                        dict(entry["parameters"]),
                        bool(entry["uploadToS3"]),
                        int(entry["bytes"]),
                    )
                )
        return planned

    def check(self) -> None:
        """Every template of every layout is present and matches the manifest's SHA-256 and size."""
        for layout in self.data["layouts"]:
            for name, entry in self.data["layouts"][layout]["stacks"].items():
                path = self.folder / entry["template"]
                if not path.is_file():
                    raise CeapError(f"{path}: template of {name} listed in the manifest is missing")
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if digest != entry["sha256"] or len(data) != entry["bytes"]:
                    raise CeapError(
                        f"{path}: SHA-256 {digest[:12]}… ({len(data)} bytes) differs from the manifest's "
                        f"{entry['sha256'][:12]}… ({entry['bytes']} bytes): rebuild with `ceap-templates build`"
                    )

    def database_stacks(self) -> list[str]:
        """The product's first wave: the data layer every other stack imports and nothing may delete."""
        return list(self.waves(PRODUCT)[0])

    def legacy_only(self) -> list[str]:
        """Legacy stacks that the product does not share (the database stack is shared), deploy order."""
        shared = set(self.entries(PRODUCT))
        return [name for wave in self.waves(LEGACY) for name in wave if name not in shared]


def _parameters_json(stack: PlannedStack) -> str:
    return json.dumps([{"ParameterKey": k, "ParameterValue": str(v)} for k, v in sorted(stack.parameters.items())])


def _resources(template: Path) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    document = json.loads(template.read_text(encoding="utf-8"))
    for logical_id, resource in sorted(document.get("Resources", {}).items()):
        yield logical_id, resource["Type"], resource.get("Properties", {})


def counterparts(manifest: Manifest) -> Iterator[str]:
    """Legacy resource -> the product stack holding the same logical ID: ``legacy id type product table``."""
    product = {
        logical_id: (stack.name, kind)
        for stack in manifest.plan(PRODUCT)
        for logical_id, kind, _ in _resources(stack.template)
    }
    for stack in manifest.plan(LEGACY):
        for logical_id, kind, properties in _resources(stack.template):
            target, target_kind = product.get(logical_id, ("-", "-"))
            table = properties.get("TableName", "-") if kind == "AWS::DynamoDB::Table" else "-"
            found = target if target_kind == kind else "-"
            yield "\t".join((stack.name, logical_id, kind, found, table if isinstance(table, str) else "-"))


def workflow_config(config: Path, env: str, name: str, kind: str, out: Path) -> str:
    """Write a configuration with workflow ``name`` in ``env``: ``added`` or ``configured``, and its stack."""
    import yaml

    from ceap_templates.naming import Naming

    return f"{_workflow_config(yaml, config, env, name, kind, out)}\t{Naming.workflow_stack(name)}"


def _workflow_config(yaml: Any, config: Path, env: str, name: str, kind: str, out: Path) -> str:

    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    environments = document.get("environments", {})
    if env not in environments:
        raise CeapError(f"-e {env}: unknown environment (allowed: {', '.join(sorted(environments))})")
    workflows = environments[env].setdefault("workflows", [])
    for workflow in workflows:
        if workflow["name"] == name:
            if workflow["type"] != kind:
                raise CeapError(
                    f"-t {kind}: workflow {name} is {workflow['type']} in {config} "
                    f"(environments.{env}.workflows): the type cannot change"
                )
            out.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            return "configured"
    workflows.append({"name": name, "type": kind, "steps": DEFAULT_STEPS[kind]})
    out.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return "added"


#: Stack tags the deploy script writes and reads back to skip unchanged stacks.
TEMPLATE_TAG = "ceap:template-sha256"
PARAMETERS_TAG = "ceap:parameters-sha256"


def deployed(stacks_json: Path) -> Iterator[str]:
    """``describe-stacks`` output -> ``name status template-tag parameters-tag`` (``-`` when untagged)."""
    for stack in json.loads(stacks_json.read_text(encoding="utf-8")).get("Stacks", []):
        if stack["StackStatus"] == "DELETE_COMPLETE":
            continue
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
        fields = (stack["StackName"], stack["StackStatus"], tags.get(TEMPLATE_TAG, "-"), tags.get(PARAMETERS_TAG, "-"))
        yield "\t".join(fields)


def outputs(stacks_json: Path) -> Iterator[str]:
    """``stack Key=Value`` lines of every stack's outputs in a ``describe-stacks`` output."""
    for stack in json.loads(stacks_json.read_text(encoding="utf-8")).get("Stacks", []):
        if stack["StackStatus"] != "DELETE_COMPLETE":
            for output in sorted(stack.get("Outputs", []), key=lambda o: str(o["OutputKey"])):
                yield f"{stack['StackName']}\t{output['OutputKey']}={output['OutputValue']}"


def stack_files(stacks_json: Path, name: str, out: Path) -> None:
    """One stack of a ``describe-stacks`` output as the backup files: parameters, outputs, tags, stack."""
    for stack in json.loads(stacks_json.read_text(encoding="utf-8")).get("Stacks", []):
        if stack["StackName"] == name and stack["StackStatus"] != "DELETE_COMPLETE":
            out.mkdir(parents=True, exist_ok=True)
            parts = {
                "parameters": [
                    {"ParameterKey": p["ParameterKey"], "ParameterValue": p.get("ParameterValue", "")}
                    for p in stack.get("Parameters", [])
                ],
                "outputs": stack.get("Outputs", []),
                "tags": stack.get("Tags", []),
                "stack": stack,
            }
            for part, value in parts.items():
                (out / f"{part}.json").write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            return
    raise CeapError(f"{name}: not in {stacks_json}")


def latest_backup(root: Path, env: str, names: Sequence[str]) -> Iterator[str]:
    """The newest ``root/env-*/`` holding a template of every one of ``names``: ``folder``, or nothing."""
    for folder in sorted(root.glob(f"{env}-*"), reverse=True):
        if names and all((folder / name / "template.json").is_file() for name in names):
            yield str(folder)
            return


def _stage_chain(definition: Mapping[str, Any]) -> list[str]:
    """Stage names of a workflow definition, in hand-over order (``previousStage`` -> ``currentStage``)."""
    after: dict[str | None, str] = {}
    for state in definition.get("States", {}).values():
        parameters = state.get("Parameters", {})
        payload = parameters.get("Payload", {})
        if "currentStage" in payload:
            after[payload.get("previousStage")] = payload["currentStage"]
        elif "--current-stage" in parameters.get("Arguments", {}):  # a Glue step reads the stage before it
            key = parameters["Arguments"].get("--input-key.$", "")
            previous = key.split("/{}/", 1)[-1].split("/", 1)[0] if "/{}/" in key else None
            after[previous] = parameters["Arguments"]["--current-stage"]
    chain, stage = [], after.get(None)
    while stage and stage not in chain:
        chain.append(stage)
        stage = after.get(stage)
    return chain


def smoke_plan(manifest: Manifest, workflow: str | None) -> Iterator[str]:
    """What smoke-test.sh follows: stack, machine, bucket, queue, the request, the stages in order."""
    entries = manifest.entries(PRODUCT)
    if workflow is not None:
        from ceap_templates.naming import Naming

        stack = Naming.workflow_stack(workflow)
        if stack not in entries:
            names = sorted(n.removeprefix("CeapWorkflow-") for n in entries if n.startswith("CeapWorkflow-"))
            raise CeapError(
                f"--workflow {workflow}: not a workflow of {manifest.environment} (configured: {', '.join(names)})"
            )
        candidates = [stack]
    else:
        candidates = [n for n in entries if not n.startswith("CeapWorkflow-")]
    templates = {
        n: json.loads((manifest.folder / e["template"]).read_text(encoding="utf-8")) for n, e in entries.items()
    }
    program: dict[str, Any] | None = None
    for name in sorted(templates):  # the schedule's first target: the program a scheduled run ingests
        for resource in templates[name].get("Resources", {}).values():
            for target in (
                resource.get("Properties", {}).get("Targets", []) if resource["Type"] == "AWS::Events::Rule" else []
            ):
                text = target.get("InputTransformer", {}).get("InputTemplate", "")
                if program is None and '"programId"' in text:
                    program = json.loads(text.replace("<time>", '"2026-01-01T00:00:00Z"'))
    for stack in candidates:
        resources = templates[stack].get("Resources", {})
        for logical_id, resource in sorted(resources.items()):
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            properties = resource["Properties"]
            chain = _stage_chain(properties.get("Definition", {}))
            if not chain or chain[0] != "ETL":
                continue
            bucket = properties.get("DefinitionSubstitutions", {}).get("WorkflowBucket", {}).get("Ref", "-")
            queue = next((k for k, r in sorted(resources.items()) if r["Type"] == "AWS::Pipes::Pipe"), "-")
            yield f"stack\t{stack}"
            yield f"machine\t{logical_id}\t{properties.get('StateMachineType', 'STANDARD')}"
            yield f"bucket\t{bucket}"
            yield f"pipe\t{queue}"
            yield from (f"stage\t{stage}" for stage in chain)
            if program is not None:
                yield f"program\t{program['programId']}\t{program['marketplace']}"
            return
    raise CeapError(f"{manifest.folder}: no state machine with an ETL stage in {', '.join(candidates)}")


def failed_events(events_json: Path, limit: int) -> Iterator[str]:
    """The first failures of a stack's latest operation: ``resource type status reason``, oldest first.

    ``describe-stack-events`` lists newest first; the operation starts at the stack's own
    "User Initiated" event. Failures are ``*_FAILED`` events and the rollback's first reason.
    """
    latest: list[Mapping[str, Any]] = []
    for event in json.loads(events_json.read_text(encoding="utf-8")).get("StackEvents", []):
        latest.append(event)
        if (
            event.get("ResourceType") == "AWS::CloudFormation::Stack"
            and event.get("ResourceStatusReason") == "User Initiated"
        ):
            break
    shown = 0
    for event in reversed(latest):
        status = str(event.get("ResourceStatus", ""))
        reason = event.get("ResourceStatusReason")
        if status.endswith("_FAILED") or (status.endswith("ROLLBACK_IN_PROGRESS") and reason):
            yield "\t".join(
                str(event.get(k) or "-")
                for k in ("LogicalResourceId", "ResourceType", "ResourceStatus", "ResourceStatusReason")
            )
            shown += 1
            if shown == limit:
                return


def validation_key(manifest: Manifest) -> str:
    """SHA-256 of everything a validation verdict depends on: the build's bytes and the validator's code.

    The deploy script keeps a verdict per key, so a re-run of the same build skips the 10 s of cfn-lint.
    """
    digest = hashlib.sha256()
    validator = Path(__file__).parent / "validation"
    templates = sorted(
        {e["template"] for layout in manifest.data["layouts"].values() for e in layout["stacks"].values()}
    )
    files = [(manifest.folder, name) for name in ["manifest.json", *templates]]
    files += [(validator, p.relative_to(validator).as_posix()) for p in sorted(validator.rglob("*")) if p.is_file()]
    for root, name in files:
        if "__pycache__" not in name:
            digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    from cfnlint.version import __version__ as cfn_lint_version

    digest.update(cfn_lint_version.encode())
    return digest.hexdigest()


def _run(args: argparse.Namespace) -> int:
    if args.command == "workflow-config":
        print(workflow_config(Path(args.config), args.env, args.name, args.type, Path(args.out)))
        return 0
    if args.command == "stack-files":
        stack_files(Path(args.stacks_json), args.name, Path(args.out))
        return 0
    if args.command == "latest-backup":
        for line in latest_backup(Path(args.root), args.env, args.names):
            print(line)
        return 0
    if args.command == "failed-events":
        for line in failed_events(Path(args.events_json), args.limit):
            print(line)
        return 0
    if args.command in ("deployed", "outputs"):
        lines = deployed(Path(args.stacks_json)) if args.command == "deployed" else outputs(Path(args.stacks_json))
        for line in lines:
            print(line)
        return 0
    manifest = Manifest(Path(args.build_env_dir))
    if args.command == "check":
        manifest.check()
    elif args.command == "plan":
        for stack in manifest.plan(args.layout, args.only or ()):
            fields = (stack.wave, stack.name, stack.template, stack.sha256, stack.parameters_sha256)
            print("\t".join(str(f) for f in (*fields, str(stack.upload_to_s3).lower(), stack.size)))
    elif args.command == "parameters":
        folder = Path(args.out)
        for stack in manifest.plan(args.layout):
            (folder / f"{stack.name}.parameters.json").write_text(_parameters_json(stack), encoding="utf-8")
    elif args.command == "info":
        code = manifest.data["code"]
        values = {
            "environment": manifest.environment,
            "account": manifest.data["account"],
            "region": manifest.data["region"],
            "artifact-bucket": code["artifactBucket"],
        }
        if args.field == "alerts":
            # The manifest's note when alerts reach no one, else nothing (scripts warn on output).
            alerts = manifest.data.get("alerts", {})
            if alerts.get("reachNoOne"):
                print(alerts.get("note", "alerts reach no one"))
            return 0
        print("\t".join(values.values()) if args.field == "all" else values[args.field])
    elif args.command == "code":
        for key in sorted(v for k, v in manifest.data["code"].items() if k != "artifactBucket"):
            print(key)
    elif args.command == "smoke-plan":
        print("\n".join(smoke_plan(manifest, args.workflow)))
    elif args.command == "validation-key":
        print(validation_key(manifest))
    elif args.command == "database":
        print("\n".join(manifest.database_stacks()))
    elif args.command == "legacy-only":
        print("\n".join(manifest.legacy_only()))
    elif args.command == "counterparts":
        print("\n".join(counterparts(manifest)))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m ceap_templates.deploy_plan", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        child = sub.add_parser(name, help=help_text)
        child.add_argument("build_env_dir", help="build/{env}")
        return child

    command("check", "templates present and equal to the manifest's SHA-256 and size")
    plan = command("plan", "wave, stack, template, sha256, parameters sha256, uploadToS3, bytes")
    plan.add_argument("--layout", choices=LAYOUTS, default=PRODUCT)
    plan.add_argument("--only", action="append", metavar="STACK")
    parameters = command("parameters", "write STACK.parameters.json (aws --parameters file://) into --out")
    parameters.add_argument("--layout", choices=LAYOUTS, default=PRODUCT)
    parameters.add_argument("--out", required=True)
    info = command("info", "one value of the manifest")
    info.add_argument("field", choices=("environment", "account", "region", "artifact-bucket", "alerts", "all"))
    command("code", "S3 keys of the code the templates reference")
    smoke = command("smoke-plan", "stack, machine, bucket, pipe, stages and program smoke-test.sh follows")
    smoke.add_argument("--workflow")
    command("validation-key", "SHA-256 of the build and the validator (a cached verdict's key)")
    command("database", "the database stacks (never deleted by the scripts)")
    command("legacy-only", "legacy stacks the product does not share, in deploy order")
    command("counterparts", "legacy stack, logical ID, type, product stack holding it (or -), table name")
    deployed_stacks = sub.add_parser("deployed", help="name, status, template and parameters tags of describe-stacks")
    deployed_stacks.add_argument("stacks_json", help="output of aws cloudformation describe-stacks --output json")
    stack_outputs = sub.add_parser("outputs", help="stack and Key=Value of every output in describe-stacks output")
    stack_outputs.add_argument("stacks_json")
    files = sub.add_parser("stack-files", help="write parameters/outputs/tags/stack.json of one stack (backups)")
    files.add_argument("stacks_json")
    files.add_argument("name")
    files.add_argument("--out", required=True)
    latest = sub.add_parser("latest-backup", help="newest ROOT/ENV-*/ holding a template of every NAME")
    latest.add_argument("root")
    latest.add_argument("env")
    latest.add_argument("names", nargs="+")
    events = sub.add_parser("failed-events", help="first failed events of the latest operation (describe-stack-events)")
    events.add_argument("events_json")
    events.add_argument("--limit", type=int, default=5)
    workflow = sub.add_parser("workflow-config", help="configuration with one workflow added (deploy-workflow.sh)")
    workflow.add_argument("--config", required=True)
    workflow.add_argument("--env", required=True)
    workflow.add_argument("--name", required=True)
    workflow.add_argument("--type", choices=tuple(DEFAULT_STEPS), required=True)
    workflow.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "ceap-workflow-config.yaml"))
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except CeapError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
