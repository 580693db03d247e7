"""The 12 deployed logical IDs of LEGACY.md in one table: type, component, identity.

The IDs themselves live with the components that emit them (``components/storage.py``,
``layouts.FUNCTION_IDS``, ``components/serving.py``, ``components/batch_ingestion.py``); this table
only adds what LEGACY.md says about each: its type, which component owns it (the layouts place the
component, hence the legacy and consolidated stacks), and the property that identifies it (the
physical name, or for functions the handler of the stage), so that two swapped IDs are caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ceap_templates.components.batch_ingestion import MACHINE_ID, SCHEDULE_ID
from ceap_templates.components.serving import CUSTOMER_EVENT_RULE_ID, REACTIVE_FUNCTION_ID
from ceap_templates.components.storage import CANDIDATES_ID, DEDUP_ID, PROGRAM_CONFIG_ID, SCORE_CACHE_ID
from ceap_templates.layouts import CONSOLIDATED, FUNCTION_IDS, LEGACY, PLACEMENTS
from ceap_templates.naming import Naming
from ceap_templates.stages import SERVING_REACTIVE, STAGES


@dataclass(frozen=True)
class LegacyResource:
    """One row of LEGACY.md "Logical IDs that must be preserved"."""

    logical_id: str
    type: str
    component: str
    what: str
    identity_property: str
    identity: Callable[[Naming], str]

    def role(self, layout: str) -> str:
        """Stack role (``Database``, ``EtlWorkflow``...) of this resource in ``layout``."""
        return PLACEMENTS[layout][self.component]

    def stack(self, naming: Naming, layout: str) -> str:
        return naming.stack(self.role(layout))


def _handler(stage: str) -> Callable[[Naming], str]:
    handler = STAGES[stage].handler
    return lambda _naming: handler


_TABLE = "AWS::DynamoDB::Table"
_FUNCTION = "AWS::Lambda::Function"
_RULE = "AWS::Events::Rule"

LEGACY_RESOURCES: tuple[LegacyResource, ...] = (
    LegacyResource(CANDIDATES_ID, _TABLE, "database", "Candidates table", "TableName", lambda n: n.table("Candidates")),
    LegacyResource(
        PROGRAM_CONFIG_ID, _TABLE, "database", "ProgramConfig table", "TableName", lambda n: n.table("ProgramConfig")
    ),
    LegacyResource(
        SCORE_CACHE_ID, _TABLE, "database", "ScoreCache table", "TableName", lambda n: n.table("ScoreCache")
    ),
    LegacyResource(FUNCTION_IDS["ETL"], _FUNCTION, "etl", "ETL function", "Handler", _handler("ETL")),
    LegacyResource(FUNCTION_IDS["Filter"], _FUNCTION, "filter", "Filter function", "Handler", _handler("Filter")),
    LegacyResource(FUNCTION_IDS["Score"], _FUNCTION, "score", "Score function", "Handler", _handler("Score")),
    LegacyResource(FUNCTION_IDS["Store"], _FUNCTION, "store", "Store function", "Handler", _handler("Store")),
    LegacyResource(DEDUP_ID, _TABLE, "serving", "dedup table", "TableName", lambda n: n.dedup_table()),
    LegacyResource(
        REACTIVE_FUNCTION_ID, _FUNCTION, "serving", "Reactive function", "Handler", lambda _n: SERVING_REACTIVE.handler
    ),
    LegacyResource(
        CUSTOMER_EVENT_RULE_ID, _RULE, "serving", "customer event rule", "Name", lambda n: n.customer_event_rule()
    ),
    LegacyResource(
        MACHINE_ID,
        "AWS::StepFunctions::StateMachine",
        "orchestration",
        "batch ingestion",
        "StateMachineName",
        lambda n: n.batch_ingestion_machine(),
    ),
    LegacyResource(
        SCHEDULE_ID, _RULE, "orchestration", "daily schedule", "Name", lambda n: n.batch_ingestion_schedule()
    ),
)

#: Logical id -> row.
BY_ID = {row.logical_id: row for row in LEGACY_RESOURCES}
#: The layouts in which these IDs must appear.
CHECKED_LAYOUTS = (CONSOLIDATED, LEGACY)


def legacy_only_roles() -> tuple[str, ...]:
    """Stack roles of the legacy layout that the consolidated layout no longer has."""
    kept = set(PLACEMENTS[CONSOLIDATED].values())
    return tuple(dict.fromkeys(r for r in PLACEMENTS[LEGACY].values() if r not in kept))


def consolidated_role_for(legacy_role: str) -> str:
    """Where the components of a legacy stack went (``EtlWorkflow`` -> ``DataPlatform``)."""
    targets = {
        PLACEMENTS[CONSOLIDATED][component]
        for component, role in PLACEMENTS[LEGACY].items()
        if role == legacy_role and component in PLACEMENTS[CONSOLIDATED]
    }
    # A stack that keeps its role (the database, which in the legacy layout also hosts the new
    # hand-off bucket) maps to itself; every other legacy stack maps to where its stages went.
    return legacy_role if legacy_role in targets else sorted(targets)[0]
