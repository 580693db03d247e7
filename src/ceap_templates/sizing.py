"""How big a run may be and what each invocation gets for it (issue 16; docs/design.md "Sizing").

Standard workflows and the batch ingestion hand data over as JSON Lines parts of ``part_size``
candidates; their part-wise stages run once per part under a Distributed Map of
``map_concurrency`` children, so an invocation's memory and time follow the part, not the run.
The first stage (ETL) plans the run's source into shards of ``source_shard_mb`` and runs once per
shard under a Distributed Map of at most ``max_source_shards`` children, so its time follows the
shard, not the run. Express workflows keep one object and refuse more than
``express_max_candidates``. Rule ``CAP001`` checks that each function fits what it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ceap_templates.asl import Sharding
from ceap_templates.stages import Stage

#: Defaults of an environment without ``sizing`` (docs/design.md "Sizing").
DEFAULT_PART_SIZE = 10_000
DEFAULT_MAX_CANDIDATES_PER_RUN = 1_000_000
DEFAULT_BATCH_INGESTION_MAX_CANDIDATES = 1_000_000
DEFAULT_EXPRESS_MAX_CANDIDATES = 10_000
DEFAULT_MAP_CONCURRENCY = 100
DEFAULT_GLUE_WORKERS = 2
DEFAULT_SOURCE_SHARD_MB = 64
DEFAULT_MAX_SOURCE_SHARDS = 100
#: Distributed Map children at once: AWS allows up to 10,000
#: (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-asl-use-map-state-distributed.html).
MAX_MAP_CONCURRENCY = 10_000

#: Environment variables the handlers read (lambdas/README.md "Sharded hand-off").
PART_SIZE_ENV = "PART_SIZE"
MAX_CANDIDATES_ENV = "MAX_CANDIDATES_PER_RUN"
EXPRESS_MAX_CANDIDATES_ENV = "EXPRESS_MAX_CANDIDATES"
SOURCE_SHARD_BYTES_ENV = "SOURCE_SHARD_BYTES"
MAX_SOURCE_SHARDS_ENV = "MAX_SOURCE_SHARDS"


@dataclass(frozen=True)
class StageSizing:
    """What a standard workflow's (or the batch ingestion's) function of one stage gets."""

    memory_mb: int | None = None
    timeout_seconds: int | None = None
    map_concurrency: int | None = None


@dataclass(frozen=True)
class Sizing:
    """The ``sizing`` section of an environment."""

    part_size: int = DEFAULT_PART_SIZE
    max_candidates_per_run: int = DEFAULT_MAX_CANDIDATES_PER_RUN
    batch_ingestion_max_candidates: int = DEFAULT_BATCH_INGESTION_MAX_CANDIDATES
    express_max_candidates: int = DEFAULT_EXPRESS_MAX_CANDIDATES
    map_concurrency: int = DEFAULT_MAP_CONCURRENCY
    glue_workers: int = DEFAULT_GLUE_WORKERS
    source_shard_mb: int = DEFAULT_SOURCE_SHARD_MB
    max_source_shards: int = DEFAULT_MAX_SOURCE_SHARDS
    #: ``(stage name, its sizing)`` pairs: a tuple, so that an environment stays hashable.
    stages: tuple[tuple[str, StageSizing], ...] = ()

    def of_stage(self, name: str) -> StageSizing:
        """The sizing the configuration gives stage ``name`` (empty when it gives none)."""
        return next((own for stage, own in self.stages if stage == name), StageSizing())

    def sized(self, stage: Stage) -> Stage:
        """``stage`` with the memory and timeout this sizing gives it (sharded runs only)."""
        own = self.of_stage(stage.name)
        return replace(
            stage,
            memory_mb=own.memory_mb or stage.memory_mb,
            timeout_seconds=own.timeout_seconds or stage.timeout_seconds,
        )

    def concurrency(self, stage: str) -> int:
        """Distributed Map children of ``stage`` at once."""
        return self.of_stage(stage).map_concurrency or self.map_concurrency

    def max_parts(self, max_candidates: int, sharded_source: bool = False) -> int:
        """Parts of the largest run: the Distributed Map's ``MaxItems`` (never fewer than one).

        From a sharded source every shard ends with a short (or empty) part: one more per shard.
        """
        shards = self.max_source_shards if sharded_source else 0
        return max(1, math.ceil(max_candidates / self.part_size)) + shards

    def sharding(self, max_candidates: int, first: Stage | None) -> Sharding:
        """The hand-off of a sharded machine whose first stage is ``first`` (``None``: a Glue job)."""
        sharded_source = first is not None and first.reads_sources
        return Sharding(
            self.part_size,
            self.max_parts(max_candidates, sharded_source),
            self.max_source_shards if sharded_source else None,
        )

    def handoff_variables(self, first: Stage | None, stage: str, max_candidates: int) -> dict[str, str]:
        """The environment of a sharded machine's function of ``stage`` (lambdas/README.md "Sharded hand-off")."""
        variables = {PART_SIZE_ENV: str(self.part_size)}
        if first is not None and stage == first.name:
            variables[MAX_CANDIDATES_ENV] = str(max_candidates)
            if first.reads_sources:
                variables[SOURCE_SHARD_BYTES_ENV] = str(self.source_shard_bytes)
                variables[MAX_SOURCE_SHARDS_ENV] = str(self.max_source_shards)
        return variables

    @property
    def source_shard_bytes(self) -> int:
        """``SOURCE_SHARD_BYTES`` of the first stage: ``source_shard_mb`` MiB."""
        return self.source_shard_mb * 1024 * 1024


def parse_sizing(raw: Mapping[str, object] | None) -> Sizing:
    """The schema-checked ``sizing`` mapping as a :class:`Sizing`."""
    raw = raw or {}
    stages = raw.get("stages") or {}
    assert isinstance(stages, Mapping)
    per_stage = {
        name: StageSizing(value.get("memoryMb"), value.get("timeoutSeconds"), value.get("mapConcurrency"))
        for name, value in stages.items()
    }

    def number(key: str, default: int) -> int:
        value = raw.get(key, default)
        assert isinstance(value, int)
        return value

    return Sizing(
        part_size=number("partSize", DEFAULT_PART_SIZE),
        max_candidates_per_run=number("maxCandidatesPerRun", DEFAULT_MAX_CANDIDATES_PER_RUN),
        batch_ingestion_max_candidates=number("batchIngestionMaxCandidates", DEFAULT_BATCH_INGESTION_MAX_CANDIDATES),
        express_max_candidates=number("expressMaxCandidates", DEFAULT_EXPRESS_MAX_CANDIDATES),
        map_concurrency=number("mapConcurrency", DEFAULT_MAP_CONCURRENCY),
        glue_workers=number("glueWorkers", DEFAULT_GLUE_WORKERS),
        source_shard_mb=number("sourceShardMegabytes", DEFAULT_SOURCE_SHARD_MB),
        max_source_shards=number("maxSourceShards", DEFAULT_MAX_SOURCE_SHARDS),
        stages=tuple(sorted(per_stage.items())),
    )
