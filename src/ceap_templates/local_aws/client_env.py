"""What a client of the loopback emulator needs: a free port and the environment ``start`` prints.

Shared by the test fixtures (tests/support/local_aws_server.py) and the deploy benchmark, which
both start ``scripts/local-aws.sh`` themselves and then run the aws CLI with its environment.
"""

from __future__ import annotations

import shlex
import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parse_env(text: str, base: dict[str, str]) -> dict[str, str]:
    """Apply the ``export K=V`` / ``unset A B`` lines ``local-aws.sh start`` prints to ``base``."""
    env = dict(base)
    for line in text.splitlines():
        words = shlex.split(line)
        if words[:1] == ["export"]:
            key, _, value = words[1].partition("=")
            env[key] = value
        elif words[:1] == ["unset"]:
            for key in words[1:]:
                env.pop(key, None)
    return env
