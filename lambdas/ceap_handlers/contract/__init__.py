"""The data contract between the stages, the state machines and the tables (docs/data.md).

Everything that crosses a process boundary is defined in this package and nowhere else, one
module per subject:

- :mod:`.fields`: :class:`ContractError` and the value rules (fast predicate + reporting check);
- :mod:`.instants`: ISO-8601 instants in UTC, epoch seconds;
- :mod:`.paths`: the S3 key convention ``executions/{executionId}/{stage}/output.json``;
- :mod:`.execution`: the stage task payload (:class:`ExecutionContext`) and :class:`StageResult`;
- :mod:`.request`: the workflow request;
- :mod:`.candidate`: the candidate (one field table for both validators) and its envelope;
- :mod:`.items`: the DynamoDB item layouts and keys;
- :mod:`.program_config`: the program configuration;
- :mod:`.events`: the customer event and the completion event.

Validation is hand-written (no schema library on the cold-start path) and every failure names
the offending field with a JSON path such as ``candidates[3].attributes.eventDate``. The names
below are re-exported so that ``from ceap_handlers.contract import X`` keeps working.
"""

from ceap_handlers.contract.candidate import (
    CANDIDATE,
    CandidateEnvelope,
    best_score,
    eligible_channels,
    parse_candidate_envelope,
    validate_candidate,
)
from ceap_handlers.contract.events import (
    CUSTOMER_EVENT_SOURCE,
    WORKFLOW_COMPLETED,
    WORKFLOW_EVENT_SOURCE,
    CustomerEvent,
    event_time,
    parse_customer_event,
)
from ceap_handlers.contract.execution import STATUS_FAILED, STATUS_SUCCEEDED, ExecutionContext, StageResult
from ceap_handlers.contract.fields import MAX_DAYS, ContractError, is_number, key_part
from ceap_handlers.contract.instants import epoch_seconds, format_instant, parse_instant
from ceap_handlers.contract.items import (
    PROGRAM_CONFIG_SK,
    TTL_ATTRIBUTE,
    candidate_id,
    candidate_item,
    candidate_keys,
    canonical_json,
    dedup_key,
    program_config_keys,
    score_cache_keys,
)
from ceap_handlers.contract.paths import (
    EXECUTIONS_PREFIX,
    OUTPUT_OBJECT,
    SOURCES_PREFIX,
    execution_prefix,
    s3_uri,
    stage_output_key,
)
from ceap_handlers.contract.program_config import (
    CANDIDATE_FIELDS,
    CONNECTOR_INLINE,
    CONNECTOR_S3_JSONL,
    CONNECTOR_TYPES,
    FIELD_TYPES,
    ConnectorConfig,
    FieldMapping,
    FilterConfig,
    ModelConfig,
    ProgramConfig,
    merge_program_items,
    parse_program_config,
)
from ceap_handlers.contract.request import Request, parse_request

__all__ = [
    "CANDIDATE",
    "CANDIDATE_FIELDS",
    "CONNECTOR_INLINE",
    "CONNECTOR_S3_JSONL",
    "CONNECTOR_TYPES",
    "CUSTOMER_EVENT_SOURCE",
    "EXECUTIONS_PREFIX",
    "FIELD_TYPES",
    "MAX_DAYS",
    "OUTPUT_OBJECT",
    "PROGRAM_CONFIG_SK",
    "SOURCES_PREFIX",
    "STATUS_FAILED",
    "STATUS_SUCCEEDED",
    "TTL_ATTRIBUTE",
    "WORKFLOW_COMPLETED",
    "WORKFLOW_EVENT_SOURCE",
    "CandidateEnvelope",
    "ConnectorConfig",
    "ContractError",
    "CustomerEvent",
    "ExecutionContext",
    "FieldMapping",
    "FilterConfig",
    "ModelConfig",
    "ProgramConfig",
    "Request",
    "StageResult",
    "best_score",
    "candidate_id",
    "candidate_item",
    "candidate_keys",
    "canonical_json",
    "dedup_key",
    "eligible_channels",
    "epoch_seconds",
    "event_time",
    "execution_prefix",
    "format_instant",
    "is_number",
    "key_part",
    "merge_program_items",
    "parse_candidate_envelope",
    "parse_customer_event",
    "parse_instant",
    "parse_program_config",
    "parse_request",
    "program_config_keys",
    "s3_uri",
    "score_cache_keys",
    "stage_output_key",
    "validate_candidate",
]
