"""The stage catalogue: one record per Lambda stage, from which everything about it follows.

A :class:`Stage` says what its code needs (docs/legacy-system.md "Functions", docs/data.md table access, seed 004
prefixes); the function, its role and grants, its environment, the workflow's Task state, the
configuration schema's list of stage names and the loader's messages are all derived from it.
Adding a stage is adding a record here (and its handler under ``lambdas/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import NamedTuple

from ceap_templates.constants import SOURCES_PREFIX, WORKFLOW_COMPLETED, WORKFLOW_EVENT_SOURCE

#: Environment variable per table (the handlers read these; docs/legacy-system.md names).
TABLE_ENV: Mapping[str, str] = MappingProxyType(
    {
        "Candidates": "CANDIDATES_TABLE",
        "ProgramConfig": "PROGRAM_CONFIG_TABLE",
        "ScoreCache": "SCORE_CACHE_TABLE",
        "Deduplication": "DEDUPLICATION_TABLE",
    }
)


@dataclass(frozen=True)
class TableUse:
    """``access`` (a table access level of :data:`ceap_templates.iam.GRANTS`) on a table; the
    function also gets the table's name in :data:`TABLE_ENV`."""

    table: str
    access: str


class Event(NamedTuple):
    """An event a stage puts on the default bus: its ``source`` and ``detail-type``."""

    source: str
    detail_type: str


@dataclass(frozen=True)
class Stage:
    """A Lambda stage.

    Parameters
    ----------
    name:
        Step name in the configuration, state name in the machine, function name suffix.
    handler:
        Entry point in the handler package.
    memory_mb, timeout_seconds, description:
        Function settings (docs/legacy-system.md).
    tables:
        The tables its code reads or writes, in grant order.
    source_prefixes:
        Bucket prefixes it only reads, besides the ``executions/`` hand-offs every stage writes.
    publishes:
        The events it puts on the default bus (it then needs ``EVENT_BUS_NAME`` and ``events:PutEvents``).
    part_wise:
        Its work on one candidate needs no other candidate, so sharded runs (standard workflows, the
        batch ingestion) run it once per part under a Distributed Map (docs/design.md "Sizing").
    reads_sources:
        It extracts from the program's sources, so as the first stage of a sharded run it plans them
        into shards of ``sourceShardMegabytes`` and runs once per shard under a Distributed Map.
    """

    name: str
    handler: str
    memory_mb: int
    timeout_seconds: int
    description: str
    tables: tuple[TableUse, ...] = ()
    source_prefixes: tuple[str, ...] = ()
    publishes: tuple[Event, ...] = ()
    part_wise: bool = False
    reads_sources: bool = False

    def for_workflow(self, express: bool) -> Stage:
        """This stage as a workflow of that type runs it: express workflows use :data:`EXPRESS_TIMEOUTS`."""
        if not express or self.name not in EXPRESS_TIMEOUTS:
            return self
        return replace(self, timeout_seconds=EXPRESS_TIMEOUTS[self.name])

    @property
    def service_name(self) -> str:
        """``POWERTOOLS_SERVICE_NAME`` of the function."""
        return f"ceap-{self.name.lower()}"


def _handler(module: str) -> str:
    return f"ceap_handlers.handlers.{module}.handler"


#: The workflow stages a configuration may name (docs/design.md 6), in the order the schema lists them.
STAGES: Mapping[str, Stage] = MappingProxyType(
    {
        "ETL": Stage(
            "ETL",
            _handler("etl"),
            1024,
            300,
            "Extract and map candidate rows",
            # Reads ProgramConfig only: legacy ETL also carried CANDIDATES_TABLE, which no code reads.
            tables=(TableUse("ProgramConfig", "read"),),
            source_prefixes=(SOURCES_PREFIX,),
            reads_sources=True,
        ),
        "Filter": Stage(
            "Filter",
            _handler("filter"),
            512,
            60,
            "Run the program's filter chain",
            tables=(TableUse("ProgramConfig", "read"),),
            part_wise=True,
        ),
        "Score": Stage(
            "Score",
            _handler("score"),
            1024,
            120,
            "Score candidates with cache",
            tables=(TableUse("ScoreCache", "cache"), TableUse("ProgramConfig", "get")),
            part_wise=True,
        ),
        "Store": Stage(
            "Store",
            _handler("store"),
            512,
            60,
            "Write candidates to Candidates",
            tables=(TableUse("Candidates", "write"),),
            part_wise=True,
        ),
        "Reactive": Stage(
            "Reactive",
            _handler("reactive"),
            1024,
            60,
            "Summarise the run, publish completion",
            publishes=(Event(WORKFLOW_EVENT_SOURCE, WORKFLOW_COMPLETED),),
        ),
    }
)
#: Function timeouts of the stages in an EXPRESS workflow (docs/design.md "Time budgets"): an express
#: execution ends within 300 s, and each Lambda task may run three times (two retries). Worst case
#: 3 x (25 + 15 + 15 + 15 + 10) s + 5 x (1 + 2) s retry waits = 255 s, 15% under 300 s. A stage not
#: listed keeps its own timeout there (ASL010 and the configuration loader then check the sum).
EXPRESS_TIMEOUTS: Mapping[str, int] = MappingProxyType(
    {"ETL": 25, "Filter": 15, "Score": 15, "Store": 15, "Reactive": 10}
)
#: The serving-side Reactive function (customer events), docs/legacy-system.md "Functions": not a workflow stage.
SERVING_REACTIVE = Stage(
    "Reactive",
    _handler("customer_event"),
    1024,
    60,
    "React to customer events",
    tables=(
        TableUse("Candidates", "write"),
        TableUse("ProgramConfig", "read"),
        TableUse("ScoreCache", "cache"),
        TableUse("Deduplication", "dedup"),
    ),
)
#: The stages of the batch ingestion machine (docs/design.md 6).
BATCH_INGESTION_STAGES = ("ETL", "Filter", "Score", "Store")
