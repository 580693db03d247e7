"""The platform's naming convention as the validator states it (``docs/validation-policy.md``).

One pattern per kind of name, written here independently of the generator's naming module: a
name the generator gets wrong (the environment twice, a wrong suffix) differs from these.
AWS limits and character sets come from :mod:`ceap_templates.validation.policy`.
"""

from __future__ import annotations

import re

from ceap_templates.validation.legacy_system import LEGACY_RESOURCES, ROLES_BY_LAYOUT, stack_name
from ceap_templates.validation.policy import NAME_LIMITS, RESOLVED_TOKEN_LENGTH

WORKFLOW_STACK_PREFIX = "CeapWorkflow-"
#: ``Purpose`` of ``{StackName}-{Purpose}Lambda``: the stages.
FUNCTION_PURPOSES = ("ETL", "Filter", "Score", "Store", "Reactive")
_LOWER_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_GENERIC_NAME = re.compile(r"^[A-Za-z0-9/][A-Za-z0-9_.:/#-]*$")
_SUB_TOKEN = re.compile(r"\$\{[^}]+\}")
#: Stand-ins of the counted length, so a finding shows the name that was counted.
_STAND_INS = {"${AWS::AccountId}": "123456789012", "${AWS::Region}": "ap-southeast-2"}


def limit_problem(kind: str, name: str) -> str | None:
    """Why ``name`` breaks the AWS length limit or character set of ``kind``; ``None`` if it fits."""
    tokens = _SUB_TOKEN.findall(name)
    length = len(_SUB_TOKEN.sub("", name)) + sum(RESOLVED_TOKEN_LENGTH.get(t, 64) for t in tokens)
    limit = NAME_LIMITS[kind]
    if length > limit:
        counted = _SUB_TOKEN.sub(
            lambda m: _STAND_INS.get(m.group(0), "x" * RESOLVED_TOKEN_LENGTH.get(m.group(0), 64)), name
        )
        shown = f"'{counted}' (from '{name}')" if tokens else f"'{name}'"
        return f"{kind} name {shown} is {length} characters; AWS allows at most {limit}"
    literal = _SUB_TOKEN.sub("x", name)
    pattern = _LOWER_NAME if kind == "bucket" else _GENERIC_NAME
    if not pattern.match(literal):
        allowed = "lowercase letters, digits, '.' and '-'" if kind == "bucket" else "letters, digits and _.:/-"
        return f"{kind} name '{name}' has characters AWS does not allow; allowed: {allowed}"
    return None


def workflow_of(stack: str) -> str | None:
    """``CeapWorkflow-batch`` -> ``batch``; ``None`` for platform stacks."""
    return stack.removeprefix(WORKFLOW_STACK_PREFIX) if stack.startswith(WORKFLOW_STACK_PREFIX) else None


def platform_stacks(env: str, layout: str) -> set[str]:
    return {stack_name(role, env) for role in ROLES_BY_LAYOUT.get(layout, ())}


def workflow_stack(workflow: str) -> str:
    """Workflow stacks carry no environment (seed 004)."""
    return f"{WORKFLOW_STACK_PREFIX}{workflow}"


def stack_parameter(env: str, producer: str) -> str:
    """The consumer parameter naming a producer stack: ``CeapDatabase-dev`` -> ``DatabaseStackName``."""
    core = producer.removesuffix(f"-{env}").removeprefix("Ceap").replace("-", "")
    return f"{core}StackName"


def functions(env: str, stack: str, logical_id: str = "") -> set[str]:
    """``{StackName}-{Purpose}Lambda``, never with the environment twice (the legacy defect).

    In a workflow stack any stage may be configured (docs/design.md 3: ``CeapWorkflow-batch-FilterLambda``):
    there the purpose is the stage the resource is named after (``{Stage}Function``,
    ``{Stage}FunctionLogGroup``), so a new stage needs no edit here, yet a name that disagrees
    with its own resource still fails.
    """
    purposes = set(FUNCTION_PURPOSES)
    if workflow_of(stack):
        for suffix in ("FunctionLogGroup", "Function"):
            if logical_id.endswith(suffix) and logical_id != suffix:
                purposes = {logical_id.removesuffix(suffix)}
                break
    names = {f"{stack}-{purpose}Lambda" for purpose in purposes}
    return {n for n in names if f"-{env}-{env}-" not in n}


def machines(env: str, stack: str) -> set[str]:
    names = {f"CeapBatchIngestion-{env}", f"{stack}-Reactive"}
    workflow = workflow_of(stack)
    return names | ({f"Ceap-{workflow}-Workflow"} if workflow else set())


def tables(env: str) -> set[str]:
    return {r.identity(env) for r in LEGACY_RESOURCES if r.identity_property == "TableName"}


def buckets(env: str, stack: str) -> set[str]:
    workflow = workflow_of(stack)
    if workflow:
        return {f"ceap-workflow-{workflow}-${{AWS::AccountId}}"}
    return {f"{stack.lower()}-batch-${{AWS::AccountId}}-${{AWS::Region}}"}


def rules(env: str) -> set[str]:
    return {f"CeapBatchIngestion-{env}", f"ceap-customer-events-{env}"}


def queues(stack: str, kind: str) -> set[str]:
    workflow = workflow_of(stack)
    if not workflow:
        return set()
    suffixes = ("pipe",) if kind == "pipe" else ("queue", "dlq")
    return {f"ceap-workflow-{workflow}-{suffix}" for suffix in suffixes}


def glue_names(stack: str, logical_id: str) -> set[str]:
    """Job ``ceap-workflow-{wf}-{step}`` (lowercase) and its ``-security`` configuration."""
    workflow = workflow_of(stack)
    for suffix, template in (("GlueJob", "{job}"), ("GlueSecurityConfiguration", "{job}-security")):
        if workflow and logical_id.endswith(suffix):
            job = f"ceap-workflow-{workflow}-{logical_id.removesuffix(suffix).lower()}"
            return {template.format(job=job)}
    return set()


def log_groups(env: str, stack: str, logical_id: str) -> set[str]:
    groups = {f"/aws/lambda/{f}" for f in functions(env, stack, logical_id)}
    groups |= {f"/aws/vendedlogs/states/{stack}/{m}" for m in machines(env, stack)}
    workflow = workflow_of(stack)
    # Glue 5.0: {--custom-logGroup-prefix}/output and /error (AWS Glue "Logging for AWS Glue jobs").
    for kind in ("output", "error"):
        suffix = f"Glue{kind.title()}LogGroup"
        if workflow and logical_id.endswith(suffix):
            job = f"ceap-workflow-{workflow}-{logical_id.removesuffix(suffix).lower()}"
            groups.add(f"/aws-glue/jobs/{job}/{kind}")
    return groups


def allowed(env: str, stack: str, logical_id: str, kind: str) -> set[str]:
    """Every name of ``kind`` the convention gives a resource of ``stack`` (empty: let AWS generate)."""
    if kind == "lambda":
        return functions(env, stack, logical_id)
    if kind == "table":
        return tables(env)
    if kind == "state_machine":
        return machines(env, stack)
    if kind == "bucket":
        return buckets(env, stack)
    if kind == "rule":
        return rules(env)
    if kind in ("queue", "pipe"):
        return queues(stack, kind)
    if kind == "glue_job":
        return glue_names(stack, logical_id)
    if kind == "log_group":
        return log_groups(env, stack, logical_id)
    return set()
