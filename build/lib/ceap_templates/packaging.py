"""Deterministic archives of the deployed code and their content addresses.

Same sources -> same bytes: entries sorted, fixed timestamps (1980-01-01), fixed permissions,
no caches. The SHA-256 of an archive is the key the templates reference.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from ceap_templates.code import CodeArtifacts
from ceap_templates.constants import HANDLER_PACKAGE
from ceap_templates.errors import CeapError

_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
GLUE_PACKAGE = "ceap_glue"
GLUE_SCRIPT = "heavy_etl.py"


def _sources(package_dir: Path) -> list[Path]:
    if not package_dir.is_dir():
        raise CeapError(f"{package_dir}: source package not found (run from the project root, or pass --source-root)")
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file() and not (_EXCLUDED_PARTS & set(p.parts)) and p.suffix not in _EXCLUDED_SUFFIXES
    )


def deterministic_zip(package_dir: Path) -> bytes:
    """Zip ``package_dir`` with the package folder at the archive root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _sources(package_dir):
            name = path.relative_to(package_dir.parent).as_posix()
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lambda_package(root: Path) -> bytes:
    return deterministic_zip(root / "lambdas" / HANDLER_PACKAGE)


def glue_library(root: Path) -> bytes:
    return deterministic_zip(root / "glue" / GLUE_PACKAGE)


def glue_script(root: Path) -> bytes:
    path = root / "glue" / GLUE_SCRIPT
    if not path.is_file():
        raise CeapError(f"{path}: Glue entry script not found")
    return path.read_bytes()


def code_artifacts(root: Path) -> CodeArtifacts:
    """Content addresses of everything under ``root`` the templates deploy."""
    return CodeArtifacts(
        lambda_sha256=sha256(lambda_package(root)),
        glue_script_sha256=sha256(glue_script(root)),
        glue_library_sha256=sha256(glue_library(root)),
    )


def write_packages(root: Path, out: Path) -> dict[str, Path]:
    """Write the archives under ``out`` at the keys the templates reference."""
    code = code_artifacts(root)
    files = {
        code.lambda_key: lambda_package(root),
        code.glue_script_key: glue_script(root),
        code.glue_library_key: glue_library(root),
    }
    written: dict[str, Path] = {}
    for key, data in files.items():
        target = out / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written[key] = target
    return written
