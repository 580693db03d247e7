"""Stage error types and the classification of AWS failures.

Step Functions matches a Lambda error by the exception's class name (``errorType``), so the two
names below are part of the contract with the state machines: their Retry lists
``TransientStageError`` (plus the Lambda service errors) and everything else reaches the Catch.
Do not rename them and do not raise subclasses (a subclass has a different name).

Classification, in order: the HTTP status of an error response (any 5xx, and 429, is transient
whatever its code: new codes appear faster than any list), then the error code (throttling and
timeouts that AWS answers with a 400), then the exception class (botocore's network errors).

This module imports no AWS SDK: botocore exceptions are recognised by their shape
(``response["Error"]["Code"]``) and by the classes in their MRO, named by module and class, so
the pure stages can use the types too.
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

# The bases of botocore's network failures, the classes botocore's own "standard" retry mode treats
# as transient (botocore.retries.standard): ConnectionError covers EndpointConnectionError,
# ConnectTimeoutError, ProxyConnectionError; HTTPClientError covers ReadTimeoutError,
# ConnectionClosedError and ResponseStreamingError (a body cut off mid-read). IncompleteReadError
# is a body shorter than its Content-Length. Matched exactly: a class merely named "...Endpoint..."
# (UnknownEndpointError, a configuration mistake) is not a network failure.
_TRANSIENT_SDK_CLASSES: Final = frozenset(
    {
        ("botocore.exceptions", "ConnectionError"),
        ("botocore.exceptions", "HTTPClientError"),
        ("botocore.exceptions", "IncompleteReadError"),
        ("urllib3.exceptions", "TimeoutError"),
        ("urllib3.exceptions", "ProtocolError"),
    }
)
# Python's own network failures (socket timeouts, resets, refused connections).
_TRANSIENT_BUILTINS: Final = (TimeoutError, ConnectionError)


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
    status = _status(exc)
    if status is not None and (status >= 500 or status == 429):
        return True
    if error_code(exc) in _TRANSIENT_CODES:
        return True
    if isinstance(exc, _TRANSIENT_BUILTINS):
        return True
    return any((cls.__module__, cls.__name__) in _TRANSIENT_SDK_CLASSES for cls in type(exc).__mro__)


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
