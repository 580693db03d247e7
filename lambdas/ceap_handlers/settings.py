"""Function configuration from the environment variables the templates set."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ceap_handlers.errors import PermanentStageError

CANDIDATES_TABLE: Final = "CANDIDATES_TABLE"
PROGRAM_CONFIG_TABLE: Final = "PROGRAM_CONFIG_TABLE"
SCORE_CACHE_TABLE: Final = "SCORE_CACHE_TABLE"
DEDUPLICATION_TABLE: Final = "DEDUPLICATION_TABLE"
WORKFLOW_BUCKET: Final = "WORKFLOW_BUCKET"
EVENT_BUS_NAME: Final = "EVENT_BUS_NAME"
SCORE_CACHE_TTL_HOURS: Final = "SCORE_CACHE_TTL_HOURS"


@dataclass(frozen=True)
class Settings:
    """Table names, bucket and event bus of one function (unset tables are ``None``)."""

    candidates_table: str | None
    program_config_table: str | None
    score_cache_table: str | None
    dedup_table: str | None
    workflow_bucket: str | None
    event_bus_name: str
    score_cache_ttl_hours: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings; a malformed ``SCORE_CACHE_TTL_HOURS`` is a permanent error."""
        env = os.environ if environ is None else environ
        raw_ttl = env.get(SCORE_CACHE_TTL_HOURS) or "24"
        try:
            ttl = float(raw_ttl)
        except ValueError:
            ttl = math.nan
        if not math.isfinite(ttl) or ttl <= 0:
            raise PermanentStageError(
                f"environment variable {SCORE_CACHE_TTL_HOURS}: expected hours > 0, got {raw_ttl!r}"
            )
        return cls(
            candidates_table=env.get(CANDIDATES_TABLE) or None,
            program_config_table=env.get(PROGRAM_CONFIG_TABLE) or None,
            score_cache_table=env.get(SCORE_CACHE_TABLE) or None,
            dedup_table=env.get(DEDUPLICATION_TABLE) or None,
            workflow_bucket=env.get(WORKFLOW_BUCKET) or None,
            event_bus_name=env.get(EVENT_BUS_NAME) or "default",
            score_cache_ttl_hours=ttl,
        )

    def require(self, variable: str) -> str:
        """The value of a table variable the function cannot work without."""
        value = {
            CANDIDATES_TABLE: self.candidates_table,
            PROGRAM_CONFIG_TABLE: self.program_config_table,
            SCORE_CACHE_TABLE: self.score_cache_table,
            DEDUPLICATION_TABLE: self.dedup_table,
        }.get(variable)
        if not value:
            raise PermanentStageError(f"environment variable {variable} is not set on this function")
        return value
