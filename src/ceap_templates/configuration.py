"""Load ``config/environments.yaml`` into frozen, typed objects; refuse every invalid file.

Each error names the file, the path inside it (``environments.prod.workflows[1].steps[2]``)
and what is allowed. Schema: ``schema/environments.schema.json`` (package data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from ceap_templates.asl import Sharding, TaskStep, worst_case_seconds
from ceap_templates.constants import EXPRESS_MAX_TIMEOUT_SECONDS
from ceap_templates.errors import ConfigError, ConfigErrors, NamingError
from ceap_templates.naming import Naming
from ceap_templates.sizing import Sizing, parse_sizing
from ceap_templates.stages import STAGES, Stage

StepKind = Literal["lambda", "glue"]
WorkflowType = Literal["express", "standard"]

DEFAULT_CONFIG = Path("config/environments.yaml")
_DEFAULT_STANDARD_TIMEOUT = 4 * 3600


@dataclass(frozen=True)
class Step:
    """One step of a workflow: a Lambda stage of the catalogue (``ETL``...) or a Glue job (``HeavyETL``)."""

    name: str
    kind: StepKind
    #: The catalogue record of a Lambda step (``None`` for a Glue job).
    stage: Stage | None = None

    @property
    def is_glue(self) -> bool:
        return self.kind == "glue"

    @classmethod
    def of(cls, stage: Stage) -> Step:
        """The Lambda step running ``stage``."""
        return cls(stage.name, "lambda", stage)


@dataclass(frozen=True)
class Workflow:
    """A configured workflow (seed 002/004); becomes the stack ``CeapWorkflow-{name}``."""

    name: str
    type: WorkflowType
    steps: tuple[Step, ...]
    timeout_seconds: int
    #: The environment's sizing; it shards standard workflows only.
    sizing: Sizing = field(default_factory=Sizing)

    @property
    def is_express(self) -> bool:
        return self.type == "express"

    @property
    def sharding(self) -> Sharding | None:
        """Parts and Map bounds of a standard workflow (``None``: express, one object per stage)."""
        if self.is_express:
            return None
        return self.sizing.sharding(self.sizing.max_candidates_per_run, self.steps[0].stage)

    @property
    def task_steps(self) -> list[TaskStep]:
        """The steps as the state machine sees them (Lambda tasks time out with their function)."""
        return task_steps(self.steps, self.sizing if self.sharding else None)

    @property
    def invocation_type(self) -> str:
        """Pipe invocation follows the type (seed 002 Req. 6.5)."""
        return "REQUEST_RESPONSE" if self.is_express else "FIRE_AND_FORGET"


def task_steps(steps: Iterable[Step], sizing: Sizing | None) -> list[TaskStep]:
    """Steps as a machine sees them; with ``sizing`` every part-wise stage after the first is mapped,
    and a first stage that reads the sources runs once per source shard."""
    result = []
    for index, step in enumerate(steps):
        if step.stage is None:
            result.append(TaskStep(step.name, step.kind))
            continue
        mapped = sizing is not None and (step.stage.part_wise if index > 0 else step.stage.reads_sources)
        concurrency = sizing.concurrency(step.name) if sizing is not None and mapped else None
        result.append(TaskStep(step.name, step.kind, step.stage.timeout_seconds, concurrency))
    return result


@dataclass(frozen=True)
class ScheduledProgram:
    program_id: str
    marketplace: str


@dataclass(frozen=True)
class LegacyExport:
    """A CDK auto-export the database stack must keep until legacy cleanup (docs/legacy-system.md)."""

    name: str
    table: str
    attribute: Literal["Name", "Arn"]


@dataclass(frozen=True)
class Environment:
    """Everything one environment's templates depend on."""

    name: str
    account: str | None
    region: str
    retain_data: bool
    log_retention_days: int
    physical_names: Literal["explicit", "generated"]
    lambda_runtime: str
    artifact_bucket: str
    alarm_email: str | None
    schedule: str
    schedule_enabled: bool
    programs: tuple[ScheduledProgram, ...]
    workflows: tuple[Workflow, ...]
    legacy_exports: tuple[LegacyExport, ...] = ()
    #: The file says alerts have no subscriber (no alarmEmail): the build states they reach no one.
    alerts_unsubscribed: bool = False
    sizing: Sizing = field(default_factory=Sizing)

    @property
    def naming(self) -> Naming:
        return Naming(self.name, explicit=self.physical_names == "explicit")


@dataclass(frozen=True)
class Configuration:
    """The whole file: environments in file order."""

    source: str
    environments: Mapping[str, Environment]

    def select(self, names: Iterable[str] | None) -> list[Environment]:
        """Environments by name (all when ``names`` is empty); unknown names are an error."""
        wanted = list(names or [])
        if not wanted:
            return list(self.environments.values())
        unknown = [n for n in wanted if n not in self.environments]
        if unknown:
            raise ConfigError(
                self.source,
                "environments",
                f"no environment {', '.join(map(repr, unknown))}; defined: {', '.join(self.environments)}",
            )
        return [self.environments[n] for n in wanted]


def schema(stages: Mapping[str, Stage] = STAGES) -> dict[str, Any]:
    """The JSON Schema of the configuration file, its list of Lambda stages taken from ``stages``."""
    text = resources.files("ceap_templates").joinpath("schema/environments.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    result["$defs"]["step"]["oneOf"][0]["enum"] = list(stages)
    result["$defs"]["sizing"]["properties"]["stages"]["propertyNames"] = {"enum": list(stages)}
    return result


def load(path: str | Path = DEFAULT_CONFIG, stages: Mapping[str, Stage] = STAGES) -> Configuration:
    """Read, validate and convert a configuration file.

    Raises
    ------
    ConfigErrors
        Every problem found, each naming file, path and what is allowed.
    """
    source = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigErrors([ConfigError(source, "(file)", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise ConfigErrors([ConfigError(source, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse(document, source, stages)


def parse(document: Any, source: str = "<config>", stages: Mapping[str, Stage] = STAGES) -> Configuration:
    """Validate an already-parsed document (see :func:`load`); Lambda steps name records of ``stages``."""
    errors = list(_schema_errors(document, source, stages))
    if errors:
        raise ConfigErrors(errors)
    config = _convert(document, source, stages)
    errors = list(_semantic_errors(config, source, stages))
    if errors:
        raise ConfigErrors(errors)
    return config


# ---- schema errors --------------------------------------------------------------------------
def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "nothing (null)"
    return "a list" if isinstance(value, list) else "a mapping"


def _message(error: jsonschema.ValidationError, stages: Mapping[str, Stage]) -> tuple[list[Any], str]:
    """Path and plain-language message for one schema violation."""
    path = list(error.absolute_path)
    schema_ = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema_.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        return path + extra[:1], f"unknown key; allowed keys here: {', '.join(allowed)}"
    if error.validator == "required":
        missing = str(error.message).split("'")[1]
        return [*path, missing], "is required"
    if error.validator == "enum":
        choices = ", ".join(str(v) for v in schema_.get("enum", []))
        return path, f"{_describe(error.instance)} is not allowed; allowed: {choices}"
    if error.validator == "type":
        return path, f"expected {error.validator_value}, got {_describe(error.instance)}"
    if error.validator == "pattern":
        return path, f"{_describe(error.instance)} does not match the pattern {error.validator_value}"
    if error.validator == "propertyNames":
        return [*path, error.instance], f"environment names must match {schema_.get('pattern', '^[a-z][a-z0-9]{1,9}$')}"
    if error.validator == "oneOf" and path and "steps" in map(str, path):
        return (
            path,
            f"{_describe(error.instance)} is not a step; allowed: a Lambda stage ({', '.join(stages)}) "
            "or {glue: <Name>}",
        )
    if error.validator in ("minItems", "minProperties"):
        return path, "must not be empty"
    if error.validator in ("minimum", "maximum", "maxItems"):
        return path, f"{_describe(error.instance)} is out of range ({error.validator} {error.validator_value})"
    return path, error.message


def _schema_errors(document: Any, source: str, stages: Mapping[str, Stage]) -> Iterator[ConfigError]:
    validator = jsonschema.Draft202012Validator(schema(stages))
    found = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in found:
        path, message = _message(error, stages)
        yield ConfigError(source, _path(path), message)


# ---- conversion and cross-field rules -------------------------------------------------------
def _step(raw: str | dict[str, str], stages: Mapping[str, Stage], express: bool, sizing: Sizing) -> Step:
    if not isinstance(raw, str):
        return Step(raw["glue"], "glue")
    stage = stages[raw]
    return Step.of(stage.for_workflow(True) if express else sizing.sized(stage))


def _workflow(raw: dict[str, Any], stages: Mapping[str, Stage], sizing: Sizing) -> Workflow:
    express = raw["type"] == "express"
    default_timeout = EXPRESS_MAX_TIMEOUT_SECONDS if express else _DEFAULT_STANDARD_TIMEOUT
    return Workflow(
        name=raw["name"],
        type=raw["type"],
        steps=tuple(_step(s, stages, express, sizing) for s in raw["steps"]),
        timeout_seconds=raw.get("timeoutSeconds", default_timeout),
        sizing=sizing,
    )


def _convert(document: dict[str, Any], source: str, stages: Mapping[str, Stage]) -> Configuration:
    envs: dict[str, Environment] = {}
    for name, raw in document["environments"].items():
        batch = raw["batchIngestion"]
        sizing = parse_sizing(raw.get("sizing"))
        envs[name] = Environment(
            name=name,
            account=raw.get("account"),
            region=raw["region"],
            retain_data=raw["retainData"],
            log_retention_days=raw["logRetentionDays"],
            physical_names=raw.get("physicalNames", "explicit"),
            lambda_runtime=raw["lambdaRuntime"],
            artifact_bucket=raw["artifactBucket"],
            alarm_email=raw.get("alarmEmail"),
            alerts_unsubscribed=raw.get("alertsUnsubscribed", False),
            schedule=batch["schedule"],
            schedule_enabled=batch.get("enabled", True),
            programs=tuple(ScheduledProgram(p["programId"], p["marketplace"]) for p in batch["programs"]),
            workflows=tuple(_workflow(w, stages, sizing) for w in raw["workflows"]),
            legacy_exports=tuple(
                LegacyExport(e["name"], e["table"], e["attribute"]) for e in raw.get("legacyDatabaseExports", [])
            ),
            sizing=sizing,
        )
    return Configuration(source, envs)


#: Domains that never receive mail: RFC 2606 sections 2-3 and RFC 6761 section 6
#: (https://www.rfc-editor.org/rfc/rfc2606, https://www.rfc-editor.org/rfc/rfc6761).
RESERVED_MAIL_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_MAIL_TLDS = ("example", "test", "invalid", "localhost")


def is_reserved_address(address: str) -> bool:
    """Whether ``address`` is in a domain reserved for documentation or testing (mail to it is lost)."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    labels = domain.split(".")
    return labels[-1] in RESERVED_MAIL_TLDS or any(
        domain == d or domain.endswith(f".{d}") for d in RESERVED_MAIL_DOMAINS
    )


def _alert_errors(env: Environment, source: str, base: str) -> Iterator[ConfigError]:
    """Alerts reach someone, or the file says plainly that they do not (issue 14 item 1)."""
    if env.alarm_email and is_reserved_address(env.alarm_email):
        yield ConfigError(
            source,
            f"{base}.alarmEmail",
            f"'{env.alarm_email}' is in a reserved domain (RFC 2606 / RFC 6761): mail to it is never delivered; "
            "allowed: a deliverable address, or no alarmEmail and alertsUnsubscribed: true",
        )
    elif env.alarm_email and env.alerts_unsubscribed:
        yield ConfigError(
            source,
            f"{base}.alertsUnsubscribed",
            "contradicts alarmEmail; allowed: one of alarmEmail, alertsUnsubscribed",
        )
    elif not env.alarm_email and not env.alerts_unsubscribed:
        yield ConfigError(
            source, base, "no alarmEmail: alerts reach no one; set alarmEmail or alertsUnsubscribed: true"
        )


def _semantic_errors(config: Configuration, source: str, stages: Mapping[str, Stage]) -> Iterator[ConfigError]:
    owners: dict[tuple[str, str], str] = {}
    for env in config.environments.values():
        base = f"environments.{env.name}"
        yield from _alert_errors(env, source, base)
        try:
            env.naming.stack("Database")
        except NamingError as exc:
            yield ConfigError(source, base, str(exc))
        seen_programs: set[tuple[str, str]] = set()
        for i, program in enumerate(env.programs):
            key = (program.program_id, program.marketplace)
            if key in seen_programs:
                yield ConfigError(
                    source,
                    f"{base}.batchIngestion.programs[{i}]",
                    "duplicate program; each (programId, marketplace) once",
                )
            seen_programs.add(key)
        seen: dict[str, int] = {}
        for i, workflow in enumerate(env.workflows):
            where = f"{base}.workflows[{i}]"
            if workflow.name in seen:
                yield ConfigError(
                    source,
                    f"{where}.name",
                    f"duplicate workflow '{workflow.name}' (also workflows[{seen[workflow.name]}])",
                )
            seen[workflow.name] = i
            yield from _workflow_errors(workflow, env.naming, where, source, stages)
            if env.account:
                other = owners.get((env.account, workflow.name))
                if other and other != env.name:
                    yield ConfigError(
                        source,
                        f"{where}.name",
                        f"workflow '{workflow.name}' is also declared by environment '{other}' on account "
                        f"{env.account}; workflow stacks carry no environment, so names must be unique per account",
                    )
                owners[(env.account, workflow.name)] = env.name


def _workflow_errors(
    workflow: Workflow, naming: Naming, where: str, source: str, stages: Mapping[str, Stage]
) -> Iterator[ConfigError]:
    names: dict[str, int] = {}
    if workflow.steps and workflow.steps[0].is_glue:
        yield ConfigError(
            source,
            f"{where}.steps[0]",
            f"Glue step '{workflow.steps[0].name}' cannot come first: a Glue job reads the previous step's output; "
            f"allowed first steps: a Lambda stage ({', '.join(stages)})",
        )
    for j, step in enumerate(workflow.steps):
        if step.name in names:
            yield ConfigError(
                source, f"{where}.steps[{j}]", f"duplicate step name '{step.name}' (also steps[{names[step.name]}])"
            )
        names[step.name] = j
        if step.is_glue and workflow.is_express:
            yield ConfigError(
                source,
                f"{where}.steps[{j}]",
                f"Glue step '{step.name}' in express workflow '{workflow.name}': express machines cannot run "
                "`.sync` jobs; allowed: Lambda stages only, or type: standard",
            )
    if workflow.is_express and workflow.timeout_seconds > EXPRESS_MAX_TIMEOUT_SECONDS:
        yield ConfigError(
            source,
            f"{where}.timeoutSeconds",
            f"{workflow.timeout_seconds} is too long for an express workflow; "
            f"allowed: 60..{EXPRESS_MAX_TIMEOUT_SECONDS}",
        )
    else:
        # A machine must outlast its slowest run (docs/design.md "Time budgets", rule ASL010).
        minimum = worst_case_seconds(workflow.task_steps, express=workflow.is_express, sharding=workflow.sharding)
        if workflow.timeout_seconds < minimum:
            yield ConfigError(
                source,
                f"{where}.timeoutSeconds",
                f"{workflow.timeout_seconds} is shorter than the worst case of its steps ({minimum} s: every "
                "step timing out on each attempt, plus retry waits, mapped stages in waves of mapConcurrency "
                f"over maxCandidatesPerRun / partSize parts); allowed: at least {minimum}",
            )
    try:
        Naming.workflow_stack(workflow.name)
        Naming.workflow_bucket(workflow.name)
        Naming.workflow_machine(workflow.name)
        Naming.workflow_queue(workflow.name, "pipe")
        for step in workflow.steps:
            if step.is_glue:
                Naming.glue_job(workflow.name, step.name)
            else:
                naming.checked_function(Naming.workflow_stack(workflow.name), step.name)
    except NamingError as exc:
        yield ConfigError(source, f"{where}.name", str(exc))
