"""The S3 key convention of the stage hand-offs (docs/design.md 6, seed 004) and S3 names."""

from __future__ import annotations

import re
from typing import Any, Final

from ceap_handlers.contract.fields import Code, ContractError, Scalar, Text, describe

#: Stage outputs of an execution live under this prefix (the bucket expires it after 7 days).
EXECUTIONS_PREFIX: Final = "executions/"
#: Source objects of ``s3_jsonl`` connectors: the only prefix the ETL role may read.
SOURCES_PREFIX: Final = "sources/"
OUTPUT_OBJECT: Final = "output.json"

_NAME_FORBIDDEN: Final = re.compile(r"[/\s\x00-\x1f\x7f]")
_BUCKET_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def stage_output_key(execution_id: str, stage: str) -> str:
    """S3 key of a stage's output: ``executions/{executionId}/{stage}/output.json``."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/{stage}/{OUTPUT_OBJECT}"


def execution_prefix(execution_id: str) -> str:
    """S3 prefix holding every stage output of one execution."""
    return f"{EXECUTIONS_PREFIX}{execution_id}/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def is_bucket_name(value: Any) -> bool:
    """True for a valid S3 bucket name."""
    return isinstance(value, str) and _BUCKET_NAME.match(value) is not None


def check_bucket_name(value: Any, path: str) -> str:
    if not is_bucket_name(value):
        raise ContractError(path, f"not a valid S3 bucket name: {describe(value)}")
    result: str = value
    return result


class KeySegment(Scalar):
    """The rule of one S3 key segment (execution id, stage name): no ``/``, blanks, controls."""

    text: Final = Text(256)

    def test(self, var: str, code: Code) -> str:
        forbidden = code.ref(_NAME_FORBIDDEN.search)
        return f"{self.text.test(var, code)} and not {forbidden}({var}) and {var} not in ('.', '..')"

    def check(self, value: Any, path: str) -> str:
        text = self.text.check(value, path)
        if _NAME_FORBIDDEN.search(text) or text in {".", ".."}:
            raise ContractError(
                path,
                f"must be a single S3 key segment (no '/', whitespace or control characters): {describe(text)}",
            )
        return text


KEY_SEGMENT: Final = KeySegment()
