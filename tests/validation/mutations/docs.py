"""Mutations of a real build: Documentation (DOC rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from .draft import (
    Draft,
    Mutation,
)


def doc_names_legacy_stack(draft: Draft, path: str, data: st.DataObject) -> set[str]:
    role = data.draw(
        st.sampled_from(["EtlWorkflow", "FilterWorkflow", "ScoreWorkflow", "StoreWorkflow", "Orchestration"])
    )
    documents = dict(draft.env.documents)
    documents[path] += f"\n## Operations\n\nRestart `Ceap{role}-{draft.env.name}` when the ETL stage stalls.\n"
    draft.documents = documents
    return {f"{draft.env.name}/{path}"}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("doc names a legacy stack as current", "DOC001", lambda e: sorted(e.documents), doc_names_legacy_stack),
)
