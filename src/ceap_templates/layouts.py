"""Layouts: which stack each component lands in. Same components, same logical IDs, any layout.

``consolidated`` is the product (3 stacks, seed 000); ``legacy`` re-creates the 7 deployed stacks
for migration checks and rehearsals.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ceap_templates.code import CodeArtifacts
from ceap_templates.components.batch_ingestion import batch_ingestion
from ceap_templates.components.functions import FunctionHandle, stage_function
from ceap_templates.components.serving import serving_api
from ceap_templates.components.storage import TableHandle, batch_ingestion_bucket, database_tables
from ceap_templates.components.workflow import workflow_stack
from ceap_templates.configuration import Environment
from ceap_templates.constants import DATA_PLATFORM, DATABASE, SERVING_API
from ceap_templates.references import AssembledLayout, Assembly, Retention
from ceap_templates.stages import BATCH_INGESTION_STAGES, STAGES

CONSOLIDATED = "consolidated"
LEGACY = "legacy"
WORKFLOWS = "workflows"
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

#: Deployed logical IDs of the stage functions (LEGACY.md).
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


def stack_names(env: Environment, layout: str) -> dict[str, str]:
    """Component -> physical stack name."""
    return {component: env.naming.stack(role) for component, role in PLACEMENTS[layout].items()}


def build_layout(env: Environment, code: CodeArtifacts, layout: str) -> AssembledLayout:
    """Place every platform component for ``layout`` and wire the references."""
    return _platform(env, code, layout)[0]


def _platform(env: Environment, code: CodeArtifacts, layout: str) -> tuple[AssembledLayout, dict[str, TableHandle]]:
    placement = stack_names(env, layout)
    describe = {env.naming.stack(role): DESCRIPTIONS[role] for role in PLACEMENTS[layout].values()}
    assembly = Assembly(layout, placement, env.naming, describe, retention(env))
    tables = database_tables(assembly.scope("database"), env)
    bucket = batch_ingestion_bucket(assembly.scope("batch-bucket"), env)
    functions: dict[str, FunctionHandle] = {}
    for stage in BATCH_INGESTION_STAGES:
        functions[stage] = stage_function(
            assembly.scope(stage.lower()),
            env,
            code,
            STAGES[stage],
            tables,
            logical_id=FUNCTION_IDS[stage],
            bucket=bucket,
        )
    orchestration = batch_ingestion(assembly.scope("orchestration"), env, functions, bucket)
    serving_api(assembly.scope("serving"), env, code, tables, "orchestration", orchestration)
    return assembly.finish(), tables


def build_layouts(env: Environment, code: CodeArtifacts) -> dict[str, AssembledLayout]:
    """Both platform layouts, plus the workflow stacks (importing the consolidated database)."""
    consolidated, tables = _platform(env, code, CONSOLIDATED)
    result = {CONSOLIDATED: consolidated, LEGACY: build_layout(env, code, LEGACY)}
    if env.workflows:
        result[WORKFLOWS] = build_workflows(env, code, tables)
    return result


def build_workflows(env: Environment, code: CodeArtifacts, tables: dict[str, TableHandle]) -> AssembledLayout:
    """One ``CeapWorkflow-{name}`` stack per configured workflow (seeds 002, 004)."""
    placement = {f"workflow:{w.name}": env.naming.workflow_stack(w.name) for w in env.workflows}
    describe = {
        env.naming.workflow_stack(w.name): f"CEAP {w.type} workflow '{w.name}': " + " -> ".join(s.name for s in w.steps)
        for w in env.workflows
    }
    assembly = Assembly(
        WORKFLOWS, placement, env.naming, describe, retention(env), external={"database": env.naming.stack(DATABASE)}
    )
    for workflow in env.workflows:
        workflow_stack(assembly.scope(f"workflow:{workflow.name}"), env, code, workflow, tables)
    return assembly.finish()
