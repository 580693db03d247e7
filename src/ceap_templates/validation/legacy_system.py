"""The deployed legacy system, as its templates had it (``docs/legacy-system.md``).

Seven CloudFormation stacks deployed from a CDK app. Twelve of their resources hold data or are
named by other systems; CloudFormation replaces a resource whose logical ID changes, so the new
templates keep these IDs in every layout. This record is the validator's own: it does not read
the generator's components, so a changed ID in the generator is a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Layout names of ``manifest.json`` (the build writes one entry per layout).
CONSOLIDATED = "consolidated"
LEGACY = "legacy"
WORKFLOWS = "workflows"

DATABASE = "Database"
DATA_PLATFORM = "DataPlatform"
SERVING_API = "ServingAPI"
#: Stack roles of the 7 legacy stacks (``Ceap{Role}-{env}``), in deploy order.
LEGACY_ROLES = (
    DATABASE,
    "EtlWorkflow",
    "FilterWorkflow",
    "ScoreWorkflow",
    "StoreWorkflow",
    "ReactiveWorkflow",
    "Orchestration",
)
#: Stack roles of the consolidated layout.
CONSOLIDATED_ROLES = (DATABASE, DATA_PLATFORM, SERVING_API)
#: Where each legacy stack's resources go in the consolidated layout.
CONSOLIDATION: Mapping[str, str] = MappingProxyType(
    {
        DATABASE: DATABASE,
        "EtlWorkflow": DATA_PLATFORM,
        "FilterWorkflow": DATA_PLATFORM,
        "ScoreWorkflow": DATA_PLATFORM,
        "StoreWorkflow": DATA_PLATFORM,
        "Orchestration": DATA_PLATFORM,
        "ReactiveWorkflow": SERVING_API,
    }
)
ROLES_BY_LAYOUT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {CONSOLIDATED: CONSOLIDATED_ROLES, LEGACY: LEGACY_ROLES}
)


def stack_name(role: str, env: str) -> str:
    """``Ceap{Role}-{env}``: the legacy stacks' names, kept by the consolidated ones."""
    return f"Ceap{role}-{env}"


@dataclass(frozen=True)
class LegacyResource:
    """One deployed resource whose logical ID must be preserved.

    ``identity_property`` / ``identity`` tell two resources of one type apart (two swapped IDs):
    the physical name as deployed (``{env}`` filled in), or for functions the stage they run
    (``Handler`` of :data:`STAGE_HANDLERS`; the legacy functions had generated names).
    """

    legacy_role: str
    logical_id: str
    type: str
    what: str
    physical_name: str | None
    identity_property: str
    stage: str | None = None

    def stack(self, layout: str, env: str) -> str:
        role = self.legacy_role if layout == LEGACY else CONSOLIDATION[self.legacy_role]
        return stack_name(role, env)

    def identity(self, env: str) -> str:
        if self.stage is not None:
            return STAGE_HANDLERS[self.stage]
        assert self.physical_name is not None
        return self.physical_name.format(env=env)


_TABLE = "AWS::DynamoDB::Table"
_FUNCTION = "AWS::Lambda::Function"
_RULE = "AWS::Events::Rule"

LEGACY_RESOURCES: tuple[LegacyResource, ...] = (
    LegacyResource(DATABASE, "CandidatesTableB438AE0C", _TABLE, "Candidates table", "Candidates-{env}", "TableName"),
    LegacyResource(
        DATABASE, "ProgramConfigTableE4B88D2D", _TABLE, "ProgramConfig table", "ProgramConfig-{env}", "TableName"
    ),
    LegacyResource(DATABASE, "ScoreCacheTable789CCB88", _TABLE, "ScoreCache table", "ScoreCache-{env}", "TableName"),
    LegacyResource("EtlWorkflow", "ETLLambdaFunction49DD508A", _FUNCTION, "ETL function", None, "Handler", "ETL"),
    LegacyResource(
        "FilterWorkflow", "FilterLambdaFunction29040EBB", _FUNCTION, "Filter function", None, "Handler", "Filter"
    ),
    LegacyResource(
        "ScoreWorkflow", "ScoreLambdaFunction04AD330A", _FUNCTION, "Score function", None, "Handler", "Score"
    ),
    LegacyResource(
        "StoreWorkflow", "StoreLambdaFunction7FC1576D", _FUNCTION, "Store function", None, "Handler", "Store"
    ),
    LegacyResource(
        "ReactiveWorkflow",
        "DeduplicationTableAD30DFB7",
        _TABLE,
        "dedup table",
        "ceap-event-deduplication-{env}",
        "TableName",
    ),
    LegacyResource(
        "ReactiveWorkflow",
        "ReactiveLambdaFunction89310B25",
        _FUNCTION,
        "Reactive function",
        None,
        "Handler",
        "CustomerEvent",
    ),
    LegacyResource(
        "ReactiveWorkflow",
        "CustomerEventRuleC528982C",
        _RULE,
        "customer event rule",
        "ceap-customer-events-{env}",
        "Name",
    ),
    LegacyResource(
        "Orchestration",
        "BatchIngestionWorkflow10186577",
        "AWS::StepFunctions::StateMachine",
        "batch ingestion",
        "CeapBatchIngestion-{env}",
        "StateMachineName",
    ),
    LegacyResource(
        "Orchestration", "BatchIngestionSchedule3D278ACF", _RULE, "daily schedule", "CeapBatchIngestion-{env}", "Name"
    ),
)
BY_ID: Mapping[str, LegacyResource] = MappingProxyType({r.logical_id: r for r in LEGACY_RESOURCES})
#: The layouts in which the IDs must appear.
CHECKED_LAYOUTS = (CONSOLIDATED, LEGACY)
#: Tables that may always be deleted: a cache, and a dedup window of minutes (docs/legacy-system.md tables).
EPHEMERAL_TABLES = ("ScoreCache-{env}", "ceap-event-deduplication-{env}")

#: Entry points of the handler package (``lambdas/ceap_handlers/handlers/``): the stage a
#: function runs. The Java handlers of the legacy functions were replaced; the IDs were kept.
STAGE_HANDLERS: Mapping[str, str] = MappingProxyType(
    {
        "ETL": "ceap_handlers.handlers.etl.handler",
        "Filter": "ceap_handlers.handlers.filter.handler",
        "Score": "ceap_handlers.handlers.score.handler",
        "Store": "ceap_handlers.handlers.store.handler",
        "Reactive": "ceap_handlers.handlers.reactive.handler",
        "CustomerEvent": "ceap_handlers.handlers.customer_event.handler",
    }
)


def legacy_only_roles() -> tuple[str, ...]:
    """Legacy stack roles the consolidated layout no longer has."""
    return tuple(r for r in LEGACY_ROLES if r not in CONSOLIDATED_ROLES)


def consolidated_role_for(legacy_role: str) -> str:
    """Where the resources of a legacy stack went (``EtlWorkflow`` -> ``DataPlatform``)."""
    return CONSOLIDATION[legacy_role]
