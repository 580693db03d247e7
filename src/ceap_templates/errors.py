"""Expected errors: each becomes one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations


class CeapError(Exception):
    """Base of every error the CLI reports as a message (exit 2)."""

    exit_code = 2


class ConfigError(CeapError):
    """Invalid configuration: names the file, the path inside it and what is allowed."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file = file
        self.path = path
        self.message = message
        super().__init__(f"{file}: {path}: {message}")


class ConfigErrors(CeapError):
    """Several configuration errors found in one pass, reported one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class NamingError(CeapError):
    """A physical name breaks an AWS limit or the naming rules."""


class ReferenceCycleError(CeapError):
    """The cross-stack references of a layout form a cycle (CloudFormation cannot deploy it)."""


class WiringError(CeapError):
    """A cross-stack reference that cannot be wired (e.g. to a component not in the layout)."""
