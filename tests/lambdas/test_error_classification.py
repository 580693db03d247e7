"""Issue 14 item 10: AWS failures are classified by HTTP status and exception class, not by a list
of error codes. Every failure here is raised by botocore itself, talking to a server on 127.0.0.1
that misbehaves in one way (no hand-made exception objects, no mocks of the SDK).

Expected classes (the source of each literal):
- 5xx and 429 are transient whatever the error code: botocore's own retry policy (``standard`` mode,
  "Retries" in the Boto3 guide) retries 500/502/503/504 and throttling, and the AWS error-retry page
  ("Error retries and exponential backoff in AWS") calls 5xx and throttling retryable.
- Connection refused, connection closed, read timeouts and a body cut off mid-stream are
  transient (network; the same guide lists "transient connection errors").
- 4xx other than 429 (access denied, missing object, validation) is permanent (docs/data.md "Errors").
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from ceap_handlers.aws import DynamoProgramConfigs, S3ObjectStore
from ceap_handlers.errors import PermanentStageError, TransientStageError

Behaviour = Callable[[socket.socket], None]


def _read_request(conn: socket.socket) -> None:
    """Read one HTTP request (headers and Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def respond(status: int, body: bytes, content_type: str, *, declared_length: int | None = None) -> Behaviour:
    """Answer with ``status`` and ``body`` (declaring ``declared_length`` bytes), then close."""

    def behave(conn: socket.socket) -> None:
        _read_request(conn)
        length = len(body) if declared_length is None else declared_length
        head = f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n"
        conn.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)

    return behave


def close_without_answer(conn: socket.socket) -> None:
    _read_request(conn)


def never_answer(conn: socket.socket) -> None:
    _read_request(conn)
    conn.recv(1)  # blocks until the client gives up (its read timeout) and closes


class LoopbackServer:
    """A TCP server on 127.0.0.1 that treats every connection with ``behaviour``."""

    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):  # the client hung up first
                    self._behaviour(conn)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


def refused_url() -> str:
    """A 127.0.0.1 URL nothing listens on (the port was just released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sdk_client(service: str, url: str) -> Any:
    """A boto3 client of ``url`` that does not retry itself (the stage error is what we check)."""
    config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=1)
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", config=config)


@pytest.fixture
def served() -> Iterator[Callable[[Behaviour], str]]:
    servers: list[LoopbackServer] = []

    def start(behaviour: Behaviour) -> str:
        server = LoopbackServer(behaviour)
        servers.append(server.__enter__())
        return server.url

    yield start
    for server in servers:
        server.__exit__()


def s3_error(status: int, code: str) -> Behaviour:
    body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>m</Message></Error>".encode()
    return respond(status, body, "application/xml")


def dynamodb_error(status: int, code: str) -> Behaviour:
    body = ('{"__type":"com.amazonaws.dynamodb.v20120810#' + code + '","message":"m"}').encode()
    return respond(status, body, "application/x-amz-json-1.0")


#: Error codes on no list of ours nor botocore's: only the status can tell what they are.
S3_CASES = [
    pytest.param(s3_error(503, "MadeUpOverload"), TransientStageError, id="503-unknown-code"),
    pytest.param(s3_error(500, "SomethingNew"), TransientStageError, id="500-unknown-code"),
    pytest.param(s3_error(502, "BadGatewayish"), TransientStageError, id="502-unknown-code"),
    pytest.param(respond(504, b"<html>gateway timeout</html>", "text/html"), TransientStageError, id="504-html"),
    pytest.param(s3_error(429, "UnknownThrottle"), TransientStageError, id="429-unknown-code"),
    pytest.param(s3_error(403, "AccessDenied"), PermanentStageError, id="403-access-denied"),
    pytest.param(s3_error(404, "NoSuchKey"), PermanentStageError, id="404-no-such-key"),
    pytest.param(s3_error(400, "MadeUpBadRequest"), PermanentStageError, id="400-unknown-code"),
    pytest.param(close_without_answer, TransientStageError, id="connection-closed"),
    pytest.param(never_answer, TransientStageError, id="read-timeout"),
    pytest.param(
        respond(200, b'{"cut off', "application/json", declared_length=100), TransientStageError, id="body-cut-off"
    ),
]


@pytest.mark.parametrize(("behaviour", "expected"), S3_CASES)
def test_s3_read__server_failure__classified_by_status_and_class(
    served: Callable[[Behaviour], str], behaviour: Behaviour, expected: type[Exception]
) -> None:
    store = S3ObjectStore(sdk_client("s3", served(behaviour)))
    with pytest.raises(expected) as raised:
        store.get_json("bucket", "executions/x/ETL/output.json")
    assert type(raised.value).__name__ == expected.__name__
    assert "s3://bucket/executions/x/ETL/output.json" in str(raised.value)


def test_s3_read__connection_refused__transient() -> None:
    store = S3ObjectStore(sdk_client("s3", refused_url()))
    with pytest.raises(TransientStageError, match="s3://bucket/k: transient failure"):
        store.get_json("bucket", "k")


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        pytest.param(dynamodb_error(503, "MadeUpUnavailable"), TransientStageError, id="503-unknown-code"),
        pytest.param(dynamodb_error(429, "NotOnAnyList"), TransientStageError, id="429-unknown-code"),
        pytest.param(dynamodb_error(400, "ValidationException"), PermanentStageError, id="400-validation"),
        pytest.param(close_without_answer, TransientStageError, id="connection-closed"),
    ],
)
def test_dynamodb_read__server_failure__classified_by_status_and_class(
    served: Callable[[Behaviour], str], behaviour: Behaviour, expected: type[Exception]
) -> None:
    configs = DynamoProgramConfigs("ProgramConfig-test", sdk_client("dynamodb", served(behaviour)))
    with pytest.raises(expected, match="dynamodb table ProgramConfig-test") as raised:
        configs.load("retail", "US")
    assert type(raised.value).__name__ == expected.__name__


def test_s3_read__endpoint_cannot_be_resolved__permanent() -> None:
    """A configuration botocore refuses before sending anything (S3 Accelerate needs a bucket name
    without dots) is not a network failure: retrying the same call fails the same way. Its class,
    EndpointResolutionError, is merely *named* like a network error."""
    config = Config(retries={"mode": "standard", "max_attempts": 1}, s3={"use_accelerate_endpoint": True})
    store = S3ObjectStore(boto3.client("s3", region_name="us-east-1", config=config))
    with pytest.raises(PermanentStageError, match=r"s3://bucket\.with\.dots/k: EndpointResolutionError"):
        store.get_json("bucket.with.dots", "k")
