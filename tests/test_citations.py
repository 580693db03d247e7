"""Every tracked file cites only the project's own documents (issue 14 item 17).

The product was specified in documents outside this repository; code, messages and the README
cite their rewrite under ``docs/`` (design.md, data.md, tools.md, legacy-system.md,
validation-policy.md) instead. The names are assembled here so this file does not cite them itself.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_OUTSIDE = ("LEGACY", "SYSTEM", "TOOLING", "DATA")
_SHARED = "sha" + "red"
#: A cited spec file of the outside documents, or a path into them.
FOREIGN = re.compile(
    r"(?<![\w/.-])(?:"
    + "|".join(_OUTSIDE)
    + r")\.md\b"
    + rf"|\.\./{_SHARED}\b|\b{_SHARED}/(?:spec|seeds)/|/work/{_SHARED}\b"
)
#: The documents citations point at instead (docs/design.md section N, docs/data.md "Store", ...).
OWN_DOCS = ("design.md", "data.md", "tools.md", "legacy-system.md", "validation-policy.md")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / n for n in names.decode("utf-8").split("\0") if n]
    return [f for f in files if f.is_file() and b"\0" not in f.read_bytes()[:8192]]


def test_no_tracked_file__cites_documents_outside_the_repository() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), start=1)
        if FOREIGN.search(line)
    ]
    assert hits == [], "cite docs/ instead:\n" + "\n".join(hits)


def test_the_documents_cited_instead__exist() -> None:
    for name in OWN_DOCS:
        assert (ROOT / "docs" / name).is_file(), name


def test_design_sections_cited__exist() -> None:
    """``docs/design.md N`` / ``section N`` citations name a numbered section of the page."""
    headings = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", (ROOT / "docs" / "design.md").read_text("utf-8"), re.M))
    cited: set[str] = set()
    for path in _tracked_text_files():
        text = path.read_text("utf-8", errors="replace")
        for group in re.findall(r"docs/design\.md(?: section)? ((?:\d+(?:\.\d+)?(?:, | and | / )?)+)", text):
            cited.update(re.findall(r"\d+(?:\.\d+)?", group))
    assert cited, "no section citations found"
    assert cited <= headings, sorted(cited - headings)
