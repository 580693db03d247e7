"""Hypothesis strategies: environment and workflow configurations, requests, events.

Configurations go through :func:`ceap_templates.configuration.parse`, so every generated value is
one the schema and the semantic checks accept.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from ceap_templates import configuration
from ceap_templates.configuration import Environment, Workflow
from ceap_templates.constants import CUSTOMER_EVENT_TYPES
from ceap_templates.environment_build import build_environment
from ceap_templates.layouts import CONSOLIDATED, WORKFLOWS, build_product
from ceap_templates.render import template_dict, to_json
from ceap_templates.stages import STAGES
from ceap_templates.validation.model import Environment as EnvironmentModel
from ceap_templates.validation.model import Layout, Stack, load_environment_files, stack_from_text

from .conftest import FIXED_CODE

LAMBDA_STAGES = list(STAGES)
env_names = st.from_regex(r"^[a-z][a-z0-9]{1,9}$", fullmatch=True)
#: Environment names the workflow-stack strategies use (see ``stack_settings``).
STACK_ENVS = ("dev", "staging", "prod", "qa1")


def _no_env_segment(name: str, envs: tuple[str, ...]) -> bool:
    """Names repeating an environment segment (``dev-dev`` in ``dev``) are refused by the
    configuration check (tests/templates/test_configuration.py); these strategies build valid stacks."""
    return not any(f"-{e}-" in f"-{name}-" for e in envs)


workflow_names = st.from_regex(r"^[a-z][a-z0-9]{1,10}(-[a-z0-9]{1,4})?$", fullmatch=True).filter(
    lambda n: _no_env_segment(n, STACK_ENVS)
)
program_ids = st.from_regex(r"^[a-z][a-z0-9-]{0,12}[a-z0-9]$", fullmatch=True)
marketplaces = st.sampled_from(["US", "UK", "DE", "FR", "JP", "IN"])


@st.composite
def workflow_docs(draw: st.DrawFn, type_: str | None = None) -> dict[str, Any]:
    """A workflow as the YAML declares it (seed 004 shape)."""
    kind = type_ or draw(st.sampled_from(["express", "standard"]))
    lambdas: list[Any] = draw(st.lists(st.sampled_from(LAMBDA_STAGES), min_size=1, max_size=5, unique=True))
    steps: list[Any] = list(lambdas)
    if kind == "standard":
        glue = draw(st.lists(st.from_regex(r"^Heavy[A-Z][a-z]{0,6}$", fullmatch=True), max_size=2, unique=True))
        for name in glue:
            steps.insert(draw(st.integers(1, len(steps))), {"glue": name})
    # At least the worst case of the longest workflow drawn (docs/design.md "Time budgets"): five
    # express stages 255 s. Standard, default sizing (docs/design.md "Sizing": 1,000,000 candidates,
    # parts of 10,000, at most 100 source shards, mapConcurrency 100), an attempt being 3 x Timeout +
    # 20 + 40 s waits (ETL 960, Filter 240, Score 420, Store 240, Reactive 240): ETL first fans out
    # over the source (issue 16): plan, 1 wave of <= 100 shards, manifest = 3 x 960 = 2,880; each later
    # part-wise stage maps over at most 1,000,000 / 10,000 + 100 (one partial part per shard) = 200
    # parts in 2 waves of 100, then its manifest: 3 x (240 + 420 + 240) = 2,700; Reactive 240; two Glue
    # steps 2 x 22,500 s (3 x 7,200 + 300 + 600) = 45,000. Total 50,820 s.
    timeout = draw(st.integers(255, 300)) if kind == "express" else draw(st.integers(50_820, 172_800))
    return {"name": draw(workflow_names), "type": kind, "timeoutSeconds": timeout, "steps": steps}


@st.composite
def environment_docs(draw: st.DrawFn, *, workflows: bool = True) -> tuple[str, dict[str, Any]]:
    name = draw(env_names)
    programs = draw(
        st.lists(
            st.fixed_dictionaries({"programId": program_ids, "marketplace": marketplaces}),
            max_size=5,
            unique_by=lambda p: (p["programId"], p["marketplace"]),
        )
    )
    doc: dict[str, Any] = {
        "account": draw(st.from_regex(r"^[0-9]{12}$", fullmatch=True)),
        "region": draw(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"])),
        "retainData": draw(st.booleans()),
        "logRetentionDays": draw(st.sampled_from([1, 7, 14, 30, 90, 365, 3653])),
        "physicalNames": draw(st.sampled_from(["explicit", "generated"])),
        "lambdaRuntime": draw(st.sampled_from(["python3.11", "python3.12", "python3.13"])),
        "artifactBucket": f"ceap-artifacts-{name}",
        "batchIngestion": {
            "schedule": draw(st.sampled_from(["cron(0 2 * * ? *)", "rate(6 hours)"])),
            "programs": programs,
        },
        "workflows": draw(
            st.lists(
                workflow_docs().filter(lambda w: _no_env_segment(w["name"], (name,))),
                max_size=2,
                unique_by=lambda w: w["name"],
            )
        )
        if workflows
        else [],
    }
    if draw(st.booleans()):
        # Not a reserved domain (RFC 2606 / 6761 ones are refused); the build never sends mail.
        doc["alarmEmail"] = "oncall@ceap-platform.io"
    else:
        doc["alertsUnsubscribed"] = True
    return name, doc


def parse_environment(name: str, doc: dict[str, Any]) -> Environment:
    return configuration.parse({"environments": {name: doc}}, "<generated>").environments[name]


environments = environment_docs().map(lambda nd: parse_environment(*nd))
platform_environments = environment_docs(workflows=False).map(lambda nd: parse_environment(*nd))


@lru_cache(maxsize=16)
def environment_model(env: Environment) -> EnvironmentModel:
    """The parsed build of a configuration (memoised: builds cost ~40-70 ms)."""
    return load_environment_files(build_environment(env, FIXED_CODE).files)


# ---- workflow stacks alone (seed 002 properties: the product only, no manifest, no legacy layout) ----
@st.composite
def workflows(draw: st.DrawFn, type_: str | None = None) -> Workflow:
    doc = draw(workflow_docs(type_))
    base = configuration.parse({"environments": {"dev": _BASE | {"workflows": [doc]}}}).environments["dev"]
    return base.workflows[0]


_BASE: dict[str, Any] = {
    "account": "111111111111",
    "region": "us-east-1",
    "retainData": False,
    "logRetentionDays": 14,
    "lambdaRuntime": "python3.12",
    "artifactBucket": "ceap-artifacts-dev",
    "alertsUnsubscribed": True,
    "batchIngestion": {"schedule": "cron(0 2 * * ? *)", "programs": []},
    "workflows": [],
}


@lru_cache(maxsize=64)
def base_environment(retain: bool = False, explicit: bool = True, log_days: int = 14, name: str = "dev") -> Environment:
    doc = _BASE | {
        "retainData": retain,
        "physicalNames": "explicit" if explicit else "generated",
        "logRetentionDays": log_days,
    }
    return parse_environment(name, doc)


stack_settings = st.fixed_dictionaries(
    {
        "retain": st.booleans(),
        "explicit": st.booleans(),
        "log_days": st.sampled_from([1, 7, 14, 30, 90, 365]),
        "name": st.sampled_from(STACK_ENVS),
    }
)


def platform_stack(env: Environment, role: str) -> Stack:
    """One stack of the consolidated layout of ``env`` (no manifest, no other layout)."""
    assembled = build_product(env, FIXED_CODE).layouts[CONSOLIDATED]
    name = env.naming.stack(role)
    text = to_json(template_dict(assembled.stacks[name].template))
    return stack_from_text(env.name, CONSOLIDATED, name, f"{name}.template.json", text.encode("utf-8"))


def workflow_stack(workflow: Workflow, env: Environment | None = None) -> Stack:
    """Only ``CeapWorkflow-{name}`` of ``workflow``, parsed like a build's template."""
    env = replace(env or base_environment(), workflows=(workflow,))
    assembled = build_product(env, FIXED_CODE).layouts[WORKFLOWS]
    name, draft = next(iter(assembled.stacks.items()))
    text = to_json(template_dict(draft.template))
    return stack_from_text(env.name, "workflows", name, f"{name}.template.json", text.encode("utf-8"))


def single_stack_environment(stack: Stack, retain: bool = False, explicit: bool = True) -> EnvironmentModel:
    """A model holding one stack, for the rules that judge a stack on its own."""
    manifest = {
        "environment": stack.env,
        "retainData": retain,
        "physicalNames": "explicit" if explicit else "generated",
        "deploy": {"layouts": [], "waves": []},
        "layouts": {stack.layout: {"stacks": {}, "waves": [[stack.name]], "weakReferences": []}},
    }
    return EnvironmentModel(
        stack.env, manifest, {stack.layout: Layout(stack.layout, {stack.name: stack}, ((stack.name,),), ())}
    )


# ---- requests and events ---------------------------------------------------------------------
requests = st.fixed_dictionaries(
    {
        "programId": program_ids,
        "marketplace": marketplaces,
        "dateRange": st.fixed_dictionaries(
            {"start": st.dates().map(str), "end": st.dates().map(str)},
        ),
    },
    optional={"correlationId": st.uuids().map(str), "limit": st.integers(1, 10_000)},
)
event_times = st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


@st.composite
def customer_events(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "source": draw(st.sampled_from(["ceap.customer-events", "ceap.other"])),
        "detail-type": draw(st.sampled_from([*CUSTOMER_EVENT_TYPES, "PageViewed"])),
        "id": str(draw(st.uuids())),
        "time": draw(event_times),
        "detail": {"customerId": draw(st.from_regex(r"^C[0-9]{1,8}$", fullmatch=True)), "programId": draw(program_ids)},
    }


@st.composite
def config_events(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "source": "ceap.program-config",
        "detail-type": "ProgramConfigUpdated",
        "id": str(draw(st.uuids())),
        "time": draw(event_times),
        "detail": {"programId": draw(program_ids), "marketplace": draw(marketplaces)},
    }
