"""Layouts: which stack each component lands in. Same components, same logical IDs, any layout.

``consolidated`` is the product (3 stacks, seed 000); ``legacy`` re-creates the 7 deployed stacks
for migration checks and rehearsals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ceap_templates.code import CodeArtifacts
from ceap_templates.components.batch_ingestion import batch_ingestion, batch_ingestion_variables
from ceap_templates.components.functions import FunctionHandle, stage_function
from ceap_templates.components.serving import serving_api
from ceap_templates.components.storage import batch_ingestion_bucket, database_tables
from ceap_templates.components.workflow import workflow_stack
from ceap_templates.configuration import Environment, Workflow
from ceap_templates.constants import DATA_PLATFORM, DATABASE, SERVING_API
from ceap_templates.references import AssembledLayout, Assembly, Retention
from ceap_templates.stages import BATCH_INGESTION_STAGES, STAGES

CONSOLIDATED = "consolidated"
LEGACY = "legacy"
WORKFLOWS = "workflows"
#: The assembly of the consolidated and workflow stacks together (what is deployed).
PRODUCT = "product"
LAYOUTS = (CONSOLIDATED, LEGACY)

#: Component -> stack role (``Ceap{Role}-{env}``).
PLACEMENTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        CONSOLIDATED: MappingProxyType(
            {
                "database": DATABASE,
                "batch-bucket": DATA_PLATFORM,
                "etl": DATA_PLATFORM,
                "filter": DATA_PLATFORM,
                "score": DATA_PLATFORM,
                "store": DATA_PLATFORM,
                "orchestration": DATA_PLATFORM,
                "serving": SERVING_API,
            }
        ),
        LEGACY: MappingProxyType(
            {
                "database": DATABASE,
                # New in this system: the stage functions and the orchestration both use it, so it
                # sits in the storage stack (in the orchestration stack it would make a cycle).
                "batch-bucket": DATABASE,
                "etl": "EtlWorkflow",
                "filter": "FilterWorkflow",
                "score": "ScoreWorkflow",
                "store": "StoreWorkflow",
                "orchestration": "Orchestration",
                "serving": "ReactiveWorkflow",
            }
        ),
    }
)

DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        DATABASE: "CEAP storage layer: Candidates, ProgramConfig and ScoreCache tables",
        DATA_PLATFORM: "CEAP write path: ETL, Filter, Score, Store stages and the batch ingestion",
        SERVING_API: "CEAP read path: Reactive function, customer events, config-update runs",
        "EtlWorkflow": "CEAP legacy layout: ETL stage",
        "FilterWorkflow": "CEAP legacy layout: Filter stage",
        "ScoreWorkflow": "CEAP legacy layout: Score stage",
        "StoreWorkflow": "CEAP legacy layout: Store stage",
        "ReactiveWorkflow": "CEAP legacy layout: Reactive serving",
        "Orchestration": "CEAP legacy layout: batch ingestion orchestration",
    }
)

#: Deployed logical IDs of the stage functions (docs/legacy-system.md "Logical IDs").
FUNCTION_IDS: Mapping[str, str] = MappingProxyType(
    {
        "ETL": "ETLLambdaFunction49DD508A",
        "Filter": "FilterLambdaFunction29040EBB",
        "Score": "ScoreLambdaFunction04AD330A",
        "Store": "StoreLambdaFunction7FC1576D",
    }
)


def retention(env: Environment) -> Retention:
    return Retention(retain_data=env.retain_data, log_days=env.log_retention_days)


@dataclass(frozen=True)
class Product:
    """Every layout of one environment, and the deploy order of the product.

    ``layouts`` holds ``consolidated``, ``legacy`` and (with workflows) ``workflows``; the
    consolidated and workflow stacks come from one assembly, whose waves ``deploy_waves`` are.
    """

    layouts: Mapping[str, AssembledLayout]
    deploy_waves: tuple[tuple[str, ...], ...]


def stack_names(env: Environment, layout: str) -> dict[str, str]:
    """Component -> physical stack name."""
    return {component: env.naming.stack(role) for component, role in PLACEMENTS[layout].items()}


def _workflow_component(workflow: Workflow) -> str:
    return f"workflow:{workflow.name}"


def _assembly(env: Environment, layout: str, *, with_workflows: bool) -> Assembly:
    """Placement and descriptions of a layout's stacks (the product adds one stack per workflow)."""
    placement = stack_names(env, layout)
    describe = {env.naming.stack(role): DESCRIPTIONS[role] for role in PLACEMENTS[layout].values()}
    for workflow in env.workflows if with_workflows else ():
        stack = env.naming.workflow_stack(workflow.name)
        placement[_workflow_component(workflow)] = stack
        describe[stack] = f"CEAP {workflow.type} workflow '{workflow.name}': " + " -> ".join(
            s.name for s in workflow.steps
        )
    return Assembly(PRODUCT if with_workflows else layout, placement, env.naming, describe, retention(env))


def _place(assembly: Assembly, env: Environment, code: CodeArtifacts, *, with_workflows: bool) -> None:
    """Every platform component (and the workflows) into the assembly's stacks."""
    tables = database_tables(assembly.scope("database"), env)
    bucket = batch_ingestion_bucket(assembly.scope("batch-bucket"), env)
    functions: dict[str, FunctionHandle] = {}
    for stage in BATCH_INGESTION_STAGES:
        functions[stage] = stage_function(
            assembly.scope(stage.lower()),
            env,
            code,
            env.sizing.sized(STAGES[stage]),
            tables,
            logical_id=FUNCTION_IDS[stage],
            bucket=bucket,
            sizing=batch_ingestion_variables(env.sizing, stage),
        )
    orchestration = batch_ingestion(assembly.scope("orchestration"), env, functions, bucket)
    serving_api(assembly.scope("serving"), env, code, tables, "orchestration", orchestration)
    for workflow in env.workflows if with_workflows else ():
        workflow_stack(assembly.scope(_workflow_component(workflow)), env, code, workflow, tables)


def build_product(env: Environment, code: CodeArtifacts) -> Product:
    """The consolidated and workflow stacks of one environment, from one assembly (no legacy layout)."""
    assembly = _assembly(env, CONSOLIDATED, with_workflows=True)
    _place(assembly, env, code, with_workflows=True)
    whole = assembly.finish()
    consolidated = set(stack_names(env, CONSOLIDATED).values())
    layouts = {CONSOLIDATED: whole.part(CONSOLIDATED, [s for s in whole.stacks if s in consolidated])}
    if env.workflows:
        layouts[WORKFLOWS] = whole.part(WORKFLOWS, [s for s in whole.stacks if s not in consolidated])
    return Product(layouts, whole.waves)


def build_legacy(env: Environment, code: CodeArtifacts) -> AssembledLayout:
    """The 7 stacks of the deployed layout (docs/legacy-system.md), for migration checks and rehearsals."""
    assembly = _assembly(env, LEGACY, with_workflows=False)
    _place(assembly, env, code, with_workflows=False)
    return assembly.finish()


def build_layouts(env: Environment, code: CodeArtifacts) -> Product:
    """Every layout: the product (consolidated + workflows) and the legacy layout."""
    product = build_product(env, code)
    layouts = dict(product.layouts)
    legacy = build_legacy(env, code)
    ordered = {CONSOLIDATED: layouts.pop(CONSOLIDATED), LEGACY: legacy, **layouts}
    return Product(ordered, product.deploy_waves)
