"""Every physical and stack name of the platform (docs/design.md 3), checked against AWS limits.

Names are derived from the stack name, never by appending the environment again, so the upstream
defect ``CeapDataPlatform-dev-dev-ETLLambda`` cannot be produced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ceap_templates.constants import NAME_LIMITS
from ceap_templates.errors import NamingError

_LOWER_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_GENERIC_NAME = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_.:/#-]*$")
_SUB_TOKEN = re.compile(r"\$\{[^}]+\}")
#: Length a `${AWS::AccountId}` token takes once CloudFormation resolves it.
_RESOLVED_LENGTH = {"${AWS::AccountId}": 12, "${AWS::Region}": 14}
#: Stand-ins of exactly that length, so an error shows the name that was counted.
_STAND_INS = {"${AWS::AccountId}": "123456789012", "${AWS::Region}": "ap-southeast-2"}


def resolved_length(name: str) -> int:
    """Length of a name after CloudFormation resolves its ``${AWS::...}`` tokens (worst case)."""
    return len(_SUB_TOKEN.sub("", name)) + sum(_RESOLVED_LENGTH.get(token, 64) for token in _SUB_TOKEN.findall(name))


def resolved_example(name: str) -> str:
    """``name`` with each ``${...}`` token replaced by a stand-in of its counted length."""
    return _SUB_TOKEN.sub(lambda m: _STAND_INS.get(m.group(0), "x" * _RESOLVED_LENGTH.get(m.group(0), 64)), name)


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it fits the AWS limit and character set of ``kind``; raise otherwise.

    Parameters
    ----------
    kind:
        A key of :data:`ceap_templates.constants.NAME_LIMITS` (``lambda``, ``bucket``, ...).
    name:
        The physical name, possibly containing ``${AWS::AccountId}`` (resolved at deploy time).
    """
    limit = NAME_LIMITS[kind]
    length = resolved_length(name)
    if length > limit:
        counted = f"'{resolved_example(name)}' (from '{name}')" if _SUB_TOKEN.search(name) else f"'{name}'"
        raise NamingError(f"{kind} name {counted} is {length} characters; AWS allows at most {limit}")
    literal = _SUB_TOKEN.sub("x", name)
    pattern = _LOWER_NAME if kind == "bucket" else _GENERIC_NAME
    if not pattern.match(literal):
        allowed = "lowercase letters, digits, '.' and '-'" if kind == "bucket" else "letters, digits and _.:/-"
        raise NamingError(f"{kind} name '{name}' has characters AWS does not allow; allowed: {allowed}")
    return name


@dataclass(frozen=True)
class Naming:
    """Names of one environment.

    Parameters
    ----------
    env:
        Environment name (``dev``), the single place the environment enters a name.
    explicit:
        ``True``: functions and buckets get the explicit names below; ``False``: CloudFormation
        generates them (dual naming, seed 002 Req. 10.2). Tables, state machines, rules and
        workflow resources are always named: other stacks and the legacy system refer to them.
    """

    env: str
    explicit: bool = True

    # ---- stacks -------------------------------------------------------------------------
    def stack(self, role: str) -> str:
        """Core and legacy stacks: ``Ceap{Role}-{env}`` (``CeapDatabase-dev``)."""
        return check_name("stack", f"Ceap{role}-{self.env}")

    @staticmethod
    def workflow_stack(workflow: str) -> str:
        """Workflow stacks carry no environment (seed 004): ``CeapWorkflow-{workflow}``."""
        return check_name("stack", f"CeapWorkflow-{workflow}")

    def role_of(self, stack_name: str) -> str:
        """Inverse of :meth:`stack`: ``CeapDatabase-dev`` -> ``Database``."""
        suffix = f"-{self.env}"
        core = stack_name[: -len(suffix)] if stack_name.endswith(suffix) else stack_name
        return core.removeprefix("Ceap").replace("-", "")

    def stack_parameter(self, producer_stack: str) -> str:
        """Consumer parameter naming a producer stack: ``DatabaseStackName``."""
        return f"{self.role_of(producer_stack)}StackName"

    # ---- functions ----------------------------------------------------------------------
    def function(self, stack_name: str, purpose: str) -> str | None:
        """``{StackName}-{Purpose}Lambda``, or ``None`` when names are generated."""
        if not self.explicit and not stack_name.startswith("CeapWorkflow-"):
            return None
        return self.checked_function(stack_name, purpose)

    def checked_function(self, stack_name: str, purpose: str) -> str:
        """The explicit function name, whatever the switch says (used by checks)."""
        name = f"{stack_name}-{purpose}Lambda"
        if name.count(f"-{self.env}-") > 1 or f"-{self.env}-{self.env}-" in name:
            raise NamingError(f"function name '{name}' carries the environment '{self.env}' twice")
        return check_name("lambda", name)

    def function_log_group(self, function_name: str | None) -> str | None:
        """``/aws/lambda/{name}`` for named functions; generated otherwise."""
        return None if function_name is None else check_name("log_group", f"/aws/lambda/{function_name}")

    # ---- storage ------------------------------------------------------------------------
    def table(self, base: str) -> str:
        """Legacy table names, kept exactly (docs/legacy-system.md): ``Candidates-dev``."""
        return check_name("table", f"{base}-{self.env}")

    def dedup_table(self) -> str:
        return check_name("table", f"ceap-event-deduplication-{self.env}")

    def batch_bucket(self, stack_name: str) -> str | None:
        """Hand-off bucket of the batch ingestion, unique per account and region.

        Qualified by its stack (lowercase): the legacy layout holds it in ``CeapDatabase-{env}``, the
        consolidated one in ``CeapDataPlatform-{env}``; both exist during migration (docs/migration.md).
        """
        if not self.explicit:
            return None
        return check_name("bucket", f"{stack_name.lower()}-batch-${{AWS::AccountId}}-${{AWS::Region}}")

    # ---- orchestration ------------------------------------------------------------------
    def batch_ingestion_machine(self) -> str:
        return check_name("state_machine", f"CeapBatchIngestion-{self.env}")

    def batch_ingestion_schedule(self) -> str:
        return check_name("rule", f"CeapBatchIngestion-{self.env}")

    def customer_event_rule(self) -> str:
        return check_name("rule", f"ceap-customer-events-{self.env}")

    def reactive_machine(self, stack_name: str) -> str:
        """``{StackName}-Reactive``: no legacy name to keep, and unique to its stack, so the legacy and the
        consolidated machine coexist during migration (docs/migration.md)."""
        return check_name("state_machine", f"{stack_name}-Reactive")

    @staticmethod
    def state_machine_log_group(stack_name: str, machine: str) -> str:
        """``/aws/vendedlogs/states/{StackName}/{machine}``: a retained group of one layout never blocks the
        other (the machine name alone is shared by legacy and consolidated stacks, docs/migration.md)."""
        # The vendedlogs prefix keeps the log-group resource policy small (AWS guidance).
        return check_name("log_group", f"/aws/vendedlogs/states/{stack_name}/{machine}")

    # ---- workflows (seed 004: no environment in the name) --------------------------------
    @staticmethod
    def workflow_machine(workflow: str) -> str:
        return check_name("state_machine", f"Ceap-{workflow}-Workflow")

    @staticmethod
    def workflow_bucket(workflow: str) -> str:
        return check_name("bucket", f"ceap-workflow-{workflow}-${{AWS::AccountId}}")

    @staticmethod
    def workflow_queue(workflow: str, suffix: str) -> str:
        """``ceap-workflow-{workflow}-queue`` / ``-dlq`` / ``-pipe``."""
        kind = "pipe" if suffix == "pipe" else "queue"
        return check_name(kind, f"ceap-workflow-{workflow}-{suffix}")

    @staticmethod
    def glue_job(workflow: str, step: str) -> str:
        return check_name("glue_job", f"ceap-workflow-{workflow}-{step.lower()}")

    @staticmethod
    def glue_security_configuration(workflow: str, step: str) -> str:
        return check_name("glue_job", f"{Naming.glue_job(workflow, step)}-security")

    @staticmethod
    def glue_log_group(workflow: str, step: str) -> str:
        """``--custom-logGroup-prefix`` of one Glue job: its groups are ``{prefix}/output`` and ``/error``."""
        return check_name("log_group", f"/aws-glue/jobs/{Naming.glue_job(workflow, step)}")
