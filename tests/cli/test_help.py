"""``ceap-templates --help`` announces only commands that exist (issue 14 item 19)."""

from __future__ import annotations

import re

import pytest

from ceap_templates.cli import main


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_help__every_command_it_names_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys)
    # argparse lists the registered subcommands as "{build,validate,...}".
    registered = set(re.search(r"\{([a-z,-]+)\}", text).group(1).split(","))  # type: ignore[union-attr]
    assert {"build", "validate", "diff", "package"} <= registered
    # The description is prose: any hyphenated or listed command word it names must be registered.
    description = text.split("positional arguments", 1)[0]
    named = set(re.findall(r"\b([a-z]+(?:-[a-z]+)+)\b", description)) | {
        w for w in re.findall(r"\b[a-z]+\b", description) if w in {"build", "validate", "diff", "package", "deploy"}
    }
    named -= {"ceap-templates"}
    assert named <= registered, f"--help announces {sorted(named - registered)}, which do not exist"
    for command in sorted(registered):
        assert f"usage: ceap-templates {command}" in _help(capsys, command)
