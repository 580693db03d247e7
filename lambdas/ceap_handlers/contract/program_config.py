"""A program's configuration, table ProgramConfig (docs/data.md "ProgramConfig")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ceap_handlers.contract.fields import (
    DAYS,
    FLAG,
    KEY,
    LIST,
    OBJECT,
    TEXT,
    ContractError,
    describe,
    join,
    key_part,
    optional_value,
    required,
)
from ceap_handlers.contract.paths import SOURCES_PREFIX, check_bucket_name

FIELD_TYPES: Final = frozenset({"STRING", "INTEGER", "DOUBLE", "BOOLEAN", "INSTANT"})
CANDIDATE_FIELDS: Final = (
    "customerId",
    "subjectType",
    "subjectId",
    "subjectMetadata",
    "eventDate",
    "deliveryDate",
    "timingWindow",
    "orderValue",
    "mediaEligible",
    "channelEligibility",
    "vertical",
)
CONNECTOR_INLINE: Final = "inline"
CONNECTOR_S3_JSONL: Final = "s3_jsonl"
CONNECTOR_TYPES: Final = (CONNECTOR_INLINE, CONNECTOR_S3_JSONL)
_NO_DEFAULT: Final = object()


@dataclass(frozen=True)
class FieldMapping:
    """``target`` ← ``source`` (a dotted path into the raw row), converted to ``type``."""

    target: str
    source: str
    type: str | None = None
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class ConnectorConfig:
    connector_id: str
    connector_type: str
    enabled: bool
    source_config: dict[str, Any]
    field_mappings: tuple[FieldMapping, ...] = ()
    bucket: str | None = None
    prefix: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    model_id: str
    model_type: str
    enabled: bool
    model_config: dict[str, Any]


@dataclass(frozen=True)
class FilterConfig:
    filter_id: str
    filter_type: str
    enabled: bool
    parameters: dict[str, Any]
    order: int
    path: str = ""


@dataclass(frozen=True)
class ProgramConfig:
    """A program's configuration, marketplace override applied."""

    program_id: str
    program_name: str
    enabled: bool
    marketplaces: tuple[str, ...]
    data_connectors: tuple[ConnectorConfig, ...]
    scoring_models: tuple[ModelConfig, ...]
    filters: tuple[FilterConfig, ...]
    channels: tuple[dict[str, Any], ...]
    reactive_enabled: bool
    candidate_ttl_days: int
    timing_window_days: int | None = None
    source: str = field(default="", compare=False)

    @property
    def enabled_filters(self) -> list[FilterConfig]:
        """Enabled filters by ``order`` (ties keep their configured position)."""
        return sorted((f for f in self.filters if f.enabled), key=lambda f: f.order)

    @property
    def enabled_models(self) -> list[ModelConfig]:
        return [m for m in self.scoring_models if m.enabled]

    @property
    def enabled_connectors(self) -> list[ConnectorConfig]:
        return [c for c in self.data_connectors if c.enabled]


def merge_program_items(base: Mapping[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply a marketplace override: its top-level attributes replace the base item's."""
    merged = dict(base)
    for key, value in (override or {}).items():
        if key not in {"PK", "SK"}:
            merged[key] = value
    return merged


def _entries(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, Any]]:
    """``(path, entry)`` of each entry of the list ``obj[key]`` (absent: none)."""
    where = join(path, key)
    return [(join(where, i), entry) for i, entry in enumerate(LIST.check(obj.get(key, []), where))]


def _parse_field_mappings(value: Any, path: str) -> tuple[FieldMapping, ...]:
    mappings = []
    targets: set[str] = set()
    for i, raw in enumerate(LIST.check(value, path)):
        entry_path = join(path, i)
        entry = OBJECT.check(raw, entry_path)
        target = required(entry, "targetField", entry_path, TEXT)
        if target not in CANDIDATE_FIELDS:
            raise ContractError(
                join(entry_path, "targetField"), f"{target!r} is not one of {', '.join(CANDIDATE_FIELDS)}"
            )
        if target in targets:
            raise ContractError(join(entry_path, "targetField"), f"{target!r} is mapped twice")
        targets.add(target)
        source = optional_value(entry, "sourceField", entry_path, TEXT) or target
        type_name = optional_value(entry, "type", entry_path, TEXT)
        if type_name is not None and type_name.upper() not in FIELD_TYPES:
            raise ContractError(
                join(entry_path, "type"), f"{type_name!r} is not one of {', '.join(sorted(FIELD_TYPES))}"
            )
        default = entry.get("default", _NO_DEFAULT)
        mappings.append(FieldMapping(target, source, type_name.upper() if type_name else None, default))
    return tuple(mappings)


def _parse_connector(value: Any, path: str) -> ConnectorConfig:
    obj = OBJECT.check(value, path)
    connector_id = required(obj, "connectorId", path, TEXT)
    raw_type = required(obj, "connectorType", path, TEXT)
    connector_type = raw_type.strip().lower().replace("-", "_")
    if connector_type not in CONNECTOR_TYPES:
        raise ContractError(
            join(path, "connectorType"), f"{raw_type!r} is not supported; supported: {', '.join(CONNECTOR_TYPES)}"
        )
    source_path = join(path, "sourceConfig")
    source = optional_value(obj, "sourceConfig", path, OBJECT, default={})
    mappings: tuple[FieldMapping, ...] = ()
    if source.get("fieldMappings") is not None:
        mappings = _parse_field_mappings(source["fieldMappings"], join(source_path, "fieldMappings"))
    bucket = prefix = None
    if connector_type == CONNECTOR_S3_JSONL:
        bucket = optional_value(source, "bucket", source_path, TEXT)
        if bucket is not None:
            check_bucket_name(bucket, join(source_path, "bucket"))
        prefix = required(source, "prefix", source_path, TEXT)
        # The ETL role may read only under sources/ (least privilege): say so before S3 says 403.
        if not prefix.startswith(SOURCES_PREFIX):
            raise ContractError(
                join(source_path, "prefix"), f"must start with {SOURCES_PREFIX!r}, got {describe(prefix)}"
            )
    return ConnectorConfig(
        connector_id=connector_id,
        connector_type=connector_type,
        enabled=optional_value(obj, "enabled", path, FLAG, default=True),
        source_config=source,
        field_mappings=mappings,
        bucket=bucket,
        prefix=prefix,
    )


def _parse_model(value: Any, path: str) -> ModelConfig:
    obj = OBJECT.check(value, path)
    config = optional_value(obj, "modelConfig", path, OBJECT, default={})
    return ModelConfig(
        model_id=required(obj, "modelId", path, TEXT),
        # The type is checked when the model runs: an unknown one falls back (docs/data.md "Score").
        model_type=optional_value(obj, "modelType", path, TEXT) or "weighted",
        enabled=optional_value(obj, "enabled", path, FLAG, default=True),
        model_config=config,
    )


def _parse_filter(value: Any, path: str) -> FilterConfig:
    obj = OBJECT.check(value, path)
    order = obj.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        raise ContractError(join(path, "order"), f"expected an integer, got {describe(order)}")
    params = optional_value(obj, "parameters", path, OBJECT, default={})
    return FilterConfig(
        filter_id=required(obj, "filterId", path, TEXT),
        filter_type=required(obj, "filterType", path, TEXT),
        enabled=optional_value(obj, "enabled", path, FLAG, default=True),
        parameters=params,
        order=order,
        path=path,
    )


def parse_program_config(item: Any, source: str = "ProgramConfig") -> ProgramConfig:
    """Validate a ProgramConfig item (base attributes with the marketplace override merged in).

    Parameters
    ----------
    item : Any
        The item's attributes as plain JSON values (numbers as int/float).
    source : str
        Prefix of error field paths, e.g. ``ProgramConfig[PROGRAM#retail]``.
    """
    obj = OBJECT.check(item, source)
    marketplaces = tuple(KEY.check(m, where) for where, m in _entries(obj, "marketplaces", source))
    connectors = tuple(_parse_connector(c, where) for where, c in _entries(obj, "dataConnectors", source))
    models = tuple(_parse_model(m, where) for where, m in _entries(obj, "scoringModels", source))
    chain_path = join(source, "filterChain")
    chain = optional_value(obj, "filterChain", source, OBJECT, default={})
    filters = tuple(_parse_filter(f, where) for where, f in _entries(chain, "filters", chain_path))
    channels = tuple(OBJECT.check(c, where) for where, c in _entries(obj, "channels", source))
    timing = optional_value(obj, "timingWindowDays", source, DAYS)
    return ProgramConfig(
        program_id=key_part(obj, "programId", source),
        program_name=optional_value(obj, "programName", source, TEXT) or obj["programId"],
        enabled=optional_value(obj, "enabled", source, FLAG, default=True),
        marketplaces=marketplaces,
        data_connectors=connectors,
        scoring_models=models,
        filters=filters,
        channels=channels,
        reactive_enabled=optional_value(obj, "reactiveEnabled", source, FLAG, default=False),
        candidate_ttl_days=required(obj, "candidateTTLDays", source, DAYS),
        timing_window_days=timing,
        source=source,
    )
