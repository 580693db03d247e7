"""The emulator process: moto's server on 127.0.0.1 with the compat layer, until SIGTERM/SIGINT.

Exit codes: 0 after a clean stop, 2 for bad arguments or a port that cannot be bound.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

COMPAT_ENV = "CEAP_LOCAL_AWS_COMPAT"
LOOPBACK = "127.0.0.1"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ceap_templates.local_aws",
        description="Serve moto on 127.0.0.1 with the ceap-templates compat layer (foreground).",
    )
    parser.add_argument("--port", type=int, default=4566, help="TCP port on 127.0.0.1 (default 4566)")
    parser.add_argument(
        "--no-compat",
        action="store_true",
        help=f"serve stock moto, without the compat layer (also {COMPAT_ENV}=0); used to prove each gap",
    )
    return parser


def configure_moto(port: int) -> None:
    """Settings moto reads at run time: its own port, executing Step Functions."""
    os.environ["MOTO_PORT"] = str(port)  # moto's Step Functions engine calls services back on it
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def serve(port: int, compat: bool) -> int:
    configure_moto(port)
    applied: list[str] = []
    if compat:
        from ceap_templates.local_aws.compat import apply_all

        applied = apply_all()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    try:
        server = make_server(
            LOOPBACK, port, DomainDispatcherApplication(create_backend_app), True, request_handler=MotoRequestHandler
        )
    except OSError as error:
        print(f"error: cannot listen on {LOOPBACK}:{port}: {error.strerror or error}", file=sys.stderr)
        return 2
    # Stop without waiting for clients' keep-alive connections to close (boto3 and the CLI keep them open).
    server.block_on_close = False  # type: ignore[attr-defined]
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    if "pipes" in applied:
        importlib.import_module("ceap_templates.local_aws.pipes").start_poller(stop)
    layer = f"compat layer: {', '.join(applied)}" if compat else "stock moto (no compat layer)"
    print(f"local-aws: listening on http://{LOOPBACK}:{port} ({layer})", flush=True)
    while not stop.wait(0.2):  # wake up regularly: a signal delivered to another thread waits for the main one
        pass
    server.shutdown()
    server.server_close()
    # Nothing to persist: skip the interpreter's teardown of moto's backends (seconds).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port}: allowed 1-65535", file=sys.stderr)
        return 2
    compat = not args.no_compat and os.environ.get(COMPAT_ENV, "1") != "0"
    return serve(args.port, compat)
