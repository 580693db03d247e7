"""Stage error types and the classification of AWS failures.

Step Functions matches a Lambda error by the exception's class name (``errorType``), so the two
names below are part of the contract with the state machines: their Retry lists
``TransientStageError`` (plus the Lambda service errors) and everything else reaches the Catch.
Do not rename them and do not raise subclasses (a subclass has a different name).

This module imports no AWS SDK: botocore exceptions are recognised by their shape
(``response["Error"]["Code"]``) and class names, so the pure stages can use the types too.
"""

from __future__ import annotations

from typing import Any, Final


class StageError(Exception):
    """Base of the two stage errors; never raised itself."""


class PermanentStageError(StageError):
    """A failure that a retry cannot fix: bad request or schema, missing input, access denied."""


class TransientStageError(StageError):
    """A failure that a retry may fix: throttling, 5xx, timeouts. Step Functions retries it."""


_TRANSIENT_CODES: Final = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "TransactionInProgressException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)

# botocore's networking errors (EndpointConnectionError, ReadTimeoutError, ConnectTimeoutError,
# ConnectionClosedError, ...) all carry one of these words in their class name.
_TRANSIENT_NAME_PARTS: Final = ("Timeout", "Connection", "Endpoint")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``None`` for other exceptions)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
        return str(code) if code is not None else None
    return None


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def is_transient(exc: BaseException) -> bool:
    """True when a retry of the same call may succeed."""
    if isinstance(exc, TransientStageError):
        return True
    if isinstance(exc, StageError):
        return False
    code = error_code(exc)
    if code is not None:
        status = _status(exc)
        return code in _TRANSIENT_CODES or (status is not None and (status >= 500 or status == 429))
    names = [cls.__name__ for cls in type(exc).__mro__]
    return any(part in name for name in names for part in _TRANSIENT_NAME_PARTS) or isinstance(exc, TimeoutError)


def classify(exc: BaseException, what: str) -> StageError:
    """Turn an AWS SDK failure into the stage error that Step Functions should see.

    Parameters
    ----------
    exc : BaseException
        The failure (botocore ``ClientError``, ``BotoCoreError``, ...).
    what : str
        What was being accessed, e.g. ``s3://bucket/executions/x/ETL/output.json``; it leads the
        message so the Fail state's cause says where it happened.
    """
    if isinstance(exc, StageError):
        return exc
    code = error_code(exc)
    detail = f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"
    if is_transient(exc):
        return TransientStageError(f"{what}: transient failure ({detail})")
    if code in {"NoSuchKey", "404", "NotFound"}:
        return PermanentStageError(f"{what}: object does not exist ({detail})")
    if code in {"AccessDenied", "AccessDeniedException", "403", "Forbidden"}:
        return PermanentStageError(f"{what}: access denied ({detail})")
    return PermanentStageError(f"{what}: {detail}")


def error_name(exc: BaseException) -> str:
    """The ``errorType`` Lambda reports for an exception."""
    return type(exc).__name__


def describe(exc: BaseException) -> dict[str, Any]:
    """Structured log fields of a failure."""
    return {"errorType": error_name(exc), "errorMessage": str(exc), "transient": is_transient(exc)}
