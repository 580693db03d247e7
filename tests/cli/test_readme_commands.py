"""The README says how to run ``ceap-templates`` after set-up; every command it shows exists (issue 14 item 15)."""

from __future__ import annotations

import argparse
import configparser
import re
import shlex
from pathlib import Path

from ceap_templates.cli import parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
#: What the README tells a new user to run (the set-up section): the console script tox installs.
RUN_IT = ".tox/build/bin/ceap-templates --help"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("ceap-templates has no subcommands")


def test_setup_section__says_how_to_run_the_command() -> None:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    assert f"`{RUN_IT}`" in setup
    assert "source .tox/build/bin/activate" in setup


def test_the_way_it_says__is_what_tox_installs() -> None:
    """``tox -e build`` installs the package (so its console script) into .tox/build/bin."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    build = tox["testenv:build"]
    assert build.get("skip_install", "false").strip() == "false"
    assert tox["testenv"].get("package", "").strip() == "wheel"
    assert build["commands"].split()[0] == "ceap-templates"
    setup = configparser.ConfigParser(interpolation=None)
    setup.read(ROOT / "setup.cfg")
    scripts = setup["options.entry_points"]["console_scripts"]
    assert re.search(r"^\s*ceap-templates = ceap_templates\.cli:main$", scripts, re.M)


def _readme_invocations() -> list[list[str]]:
    """Every ``ceap-templates ...`` command of the README's code blocks, as words."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            for part in re.split(r"&&|\|", line.split("  #", 1)[0]):
                words = part.split()
                if words and words[0].endswith("ceap-templates"):
                    found.append(shlex.split(part.replace("[", " ").replace("]", " ").replace("...", " ")))
    return found


def test_every_readme_command__is_a_command_with_those_options() -> None:
    commands = _subcommands()
    invocations = _readme_invocations()
    assert len(invocations) >= 8, invocations
    for words in invocations:
        if words[1:] == ["--help"]:
            continue
        command = words[1]
        assert command in commands, f"README runs `ceap-templates {command}`, which does not exist"
        options = {o for a in commands[command]._actions for o in a.option_strings}
        flags = {w.split("=", 1)[0] for w in words[2:] if w.startswith("--")}
        assert flags <= options, f"`ceap-templates {command}`: {sorted(flags - options)} not accepted"
