"""A local Lambda runtime for moto's Step Functions engine: the Invoke API on 127.0.0.1.

moto (without Docker) cannot run a function: its Lambda backend echoes the payload and never
fails. This endpoint runs Python callables in-process and answers like AWS Lambda does: an
unhandled exception becomes ``X-Amz-Function-Error: Unhandled`` with
``{"errorType": <exception class name>, "errorMessage": ...}``, which Step Functions turns
into the error name its Retry and Catch match. moto sends ``lambda`` calls here through its
passthrough setting and ``AWS_ENDPOINT_URL_LAMBDA``; S3, DynamoDB and EventBridge calls the
callables make stay inside moto.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

Function = Callable[[dict[str, Any], Any], Any]


@dataclass
class Invocation:
    function: str
    event: Any
    error: str | None = None


@dataclass
class LocalLambda:
    """Function name (last segment of the ARN) -> callable; records every invocation."""

    functions: Mapping[str, Function]
    invocations: list[Invocation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, name: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        function = self.functions.get(name)
        if function is None:
            message = {"Message": f"Function not found: {name}", "Type": "User"}
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, json.dumps(message).encode()
        event = json.loads(body or b"null")
        record = Invocation(name, event)
        with self._lock:
            self.invocations.append(record)
        try:
            result = function(event, None)
        except Exception as exc:  # the Lambda runtime reports any unhandled exception
            record.error = type(exc).__name__
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []}
            return 200, {"X-Amz-Function-Error": "Unhandled"}, json.dumps(payload).encode()
        return 200, {"X-Amz-Executed-Version": "$LATEST"}, json.dumps(result).encode()


def _handler_class(runtime: LocalLambda) -> type[BaseHTTPRequestHandler]:
    class InvokeHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            # /2015-03-31/functions/{FunctionName}/invocations
            parts = self.path.split("?")[0].split("/")
            name = unquote(parts[3]).rsplit(":", 1)[-1] if len(parts) > 4 else ""
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, payload = runtime.invoke(name, body)
            self.send_response(status)
            for key, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return InvokeHandler


@contextmanager
def local_lambda(functions: Mapping[str, Function]) -> Iterator[LocalLambda]:
    """Serve ``functions`` on 127.0.0.1 for the duration of the block (stops by itself)."""
    runtime = LocalLambda(functions)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(runtime))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    previous = os.environ.get("AWS_ENDPOINT_URL_LAMBDA")
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield runtime
    finally:
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL_LAMBDA", None)
        else:
            os.environ["AWS_ENDPOINT_URL_LAMBDA"] = previous
        server.shutdown()
        server.server_close()


#: moto settings: execute definitions; let Lambda calls to the loopback runtime through.
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    "core": {"passthrough": {"urls": [r"http://127\.0\.0\.1:\d+/2015-03-31/functions/.*"], "services": []}},
}
