"""Content addresses of the code the templates deploy (docs/design.md 7).

The S3 keys carry the SHA-256 of deterministic archives of the sources, so a template changes
exactly when the code does and an unchanged source gives byte-identical templates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeArtifacts:
    """Keys (in the ``ArtifactBucket``) of the Lambda package and the Glue job files."""

    lambda_sha256: str
    glue_script_sha256: str
    glue_library_sha256: str

    @property
    def lambda_key(self) -> str:
        return f"lambda/ceap-handlers-{self.lambda_sha256}.zip"

    @property
    def glue_script_key(self) -> str:
        return f"glue/heavy_etl-{self.glue_script_sha256}.py"

    @property
    def glue_library_key(self) -> str:
        return f"glue/ceap_glue-{self.glue_library_sha256}.zip"
