"""Rewrite ``tests/diff/golden/*.md`` from the scenarios: ``python -m tests.diff.regenerate``."""

from __future__ import annotations

from .scenarios import GOLDEN, SCENARIOS, render


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENARIOS:
        path = GOLDEN / f"{name}.md"
        path.write_text(render(name), "utf-8")
        print(path)


if __name__ == "__main__":
    main()
