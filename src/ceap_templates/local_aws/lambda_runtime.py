"""Lambda functions run their real Python code from the uploaded zip, in-process (no Docker).

moto 5.2.5 runs a function only in Docker; without it (``use_docker: False``) ``Invoke`` echoes the
payload and never fails. AWS runs the handler of the deployment package with the function's
environment variables; an unhandled exception answers ``X-Amz-Function-Error: Unhandled`` with
``{"errorType": <exception class>, "errorMessage": ...}``, which Step Functions turns into the error
name its Retry and Catch match.

Here the zip (``Code.S3Bucket``/``S3Key`` as the stack uploaded it) is extracted once into a cache
folder keyed by its SHA-256, and each function imports its handler in its own module namespace
(two functions sharing a package do not share module state, as two Lambda functions do not).
During an invocation the process environment is the function's: its variables, the Lambda
runtime's (``AWS_LAMBDA_FUNCTION_NAME``, region) and the emulator as ``AWS_ENDPOINT_URL``, so the
handler's SDK calls stay on the emulator. Invocations are serialised (one environment at a time);
a handler that invoked another function synchronously would wait forever (none of ours does).
The Powertools layer is the emulator environment's ``aws-lambda-powertools``; X-Ray tracing is off
(``POWERTOOLS_TRACE_DISABLED``: no daemon to send segments to).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

CACHE_ENV: Final = "CEAP_LOCAL_AWS_LAMBDA_CACHE"
_LOCK = threading.RLock()


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "ceap-local-aws-lambda")


def extracted(code: bytes) -> Path:
    """The folder holding ``code`` unzipped (extracted once per content hash)."""
    folder = cache_root() / hashlib.sha256(code).hexdigest()
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".extract-"))
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(scratch)
        with contextlib.suppress(OSError):  # extracted concurrently by another invocation: keep theirs
            scratch.rename(folder)
    return folder


@dataclass
class LoadedFunction:
    """A function's handler and the modules imported for it (its own namespace)."""

    handler: Any
    modules: dict[str, ModuleType] = field(default_factory=dict)


def _top_level(folder: Path) -> set[str]:
    return {p.stem if p.suffix == ".py" else p.name for p in folder.iterdir() if not p.name.startswith(".")}


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _namespace(folder: Path, modules: dict[str, ModuleType]) -> Iterator[None]:
    """Make ``modules`` (and ``folder`` for new imports) what ``import`` sees; restore afterwards."""
    names = _top_level(folder)

    def owned(name: str) -> bool:
        return name.split(".")[0] in names

    saved = {name: module for name, module in sys.modules.items() if owned(name)}
    for name in saved:
        del sys.modules[name]
    sys.modules.update(modules)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        modules.update({name: module for name, module in sys.modules.items() if owned(name)})
        for name in [name for name in sys.modules if owned(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


class Context:
    """The Lambda context object a handler receives."""

    def __init__(self, function: Any, timeout_seconds: int) -> None:
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = int(function.memory_size)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def runtime_environment(function: Any) -> dict[str, str]:
    endpoint = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"
    return {
        **{key: str(value) for key, value in (function.environment_vars or {}).items()},
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


_loaded: dict[tuple[str, str, str], LoadedFunction] = {}


def invoke_function(function: Any, event: Any) -> tuple[bool, bytes]:
    """Run ``function``'s handler on ``event``: (failed, response payload) as Lambda answers."""
    code: bytes = function.code_bytes or b""
    with _LOCK:
        try:
            if not code:
                raise RuntimeError(f"function {function.function_name} has no code (its S3 object was missing)")
            folder = extracted(code)
            module_name, _, attribute = str(function.handler).rpartition(".")
            key = (function.function_arn, hashlib.sha256(code).hexdigest(), str(function.handler))
            environment = runtime_environment(function)
            loaded = _loaded.get(key)
            with _environment(environment):
                if loaded is None:
                    modules: dict[str, ModuleType] = {}
                    with _namespace(folder, modules):
                        handler = getattr(importlib.import_module(module_name), attribute)
                    loaded = _loaded[key] = LoadedFunction(handler, modules)
                with _namespace(folder, loaded.modules):
                    result = loaded.handler(event, Context(function, int(function.timeout)))
            return False, json.dumps(result).encode()
        except Exception as error:  # the Lambda runtime reports any unhandled exception
            payload = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": str(uuid.uuid4()),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            print(f"local-aws: {function.function_name} failed: {type(error).__name__}: {error}", file=sys.stderr)
            return True, json.dumps(payload).encode()


def apply() -> None:
    from moto.awslambda import models

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        event = json.loads(body) if body else {}
        if request_headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
            threading.Thread(target=invoke_function, args=(self, event), daemon=True).start()
            return b""
        failed, payload = invoke_function(self, event)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    models.LambdaFunction.invoke = invoke  # type: ignore[method-assign]
