"""Any JSON in a template's resources is compared without a traceback (hand-edited builds happen)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.diff import render_json, render_markdown

from . import kit

KEYS = st.sampled_from(["Statement", "Action", "Resource", "Ref", "Fn::Sub", "Properties", "States", "Type", "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)
SITES = [(key, lid) for key in kit.stacks() for lid in kit.stack(key).resources]


@given(
    site=st.sampled_from(SITES),
    field=st.sampled_from(["Properties", "DependsOn", "DeletionPolicy", "Type"]),
    value=JSON,
)
def test_any_json_value_is_compared(site: tuple[kit.Key, str], field: str, value: Any) -> None:
    key, logical_id = site
    new = kit.edit(key, lambda t: t["Resources"][logical_id].__setitem__(field, value))
    report = kit.diff(kit.real_build(), new)
    render_markdown.render(report)
    render_json.render(report)
    assert {c.logical_id for c in report.changes} <= {logical_id}


NESTED = [
    *[(site, "Definition") for site in kit.resources_of("AWS::StepFunctions::StateMachine")],
    *[(site, "Policies") for site in kit.resources_of("AWS::IAM::Role")],
    *[(site, "PolicyDocument") for site in kit.resources_of("AWS::S3::BucketPolicy")],
    *[(site, "PublicAccessBlockConfiguration") for site in kit.resources_of("AWS::S3::Bucket")],
]


@given(target=st.sampled_from(NESTED), value=JSON)
def test_any_json_in_definitions_and_policies(target: tuple[tuple[kit.Key, str], str], value: Any) -> None:
    (key, logical_id), field = target
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].__setitem__(field, value))
    report = kit.diff(kit.real_build(), new)
    render_markdown.render(report)
    render_json.render(report)
    assert {c.logical_id for c in report.changes} <= {logical_id}
