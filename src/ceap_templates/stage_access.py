"""Which tables each Lambda stage reads or writes: exactly what its code does (DATA.md)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: (table, access) per stage; access ``None`` = environment variable only (LEGACY.md parity).
STAGE_TABLES: Mapping[str, tuple[tuple[str, str | None], ...]] = MappingProxyType(
    {
        "ETL": (("ProgramConfig", "read"), ("Candidates", None)),
        "Filter": (("ProgramConfig", "read"),),
        "Score": (("ScoreCache", "cache"), ("ProgramConfig", "get")),
        "Store": (("Candidates", "write"),),
        "Reactive": (),
    }
)
