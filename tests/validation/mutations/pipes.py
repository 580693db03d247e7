"""Mutations of a real build: Pipes (PIPE rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from .draft import (
    Draft,
    Mutation,
    Site,
    _location,
    props_of,
    sites,
)


def pipe_broken(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    how = data.draw(st.sampled_from(["invocation", "batch", "role"]))
    for (layout, stack), resource in draft.resources(site):
        props = props_of(resource)
        parameters = props["TargetParameters"]["StepFunctionStateMachineParameters"]
        if how == "invocation":
            swap = {"REQUEST_RESPONSE": "FIRE_AND_FORGET", "FIRE_AND_FORGET": "REQUEST_RESPONSE"}
            parameters["InvocationType"] = swap[parameters["InvocationType"]]
        elif how == "batch":
            props["SourceParameters"]["SqsQueueParameters"]["BatchSize"] = data.draw(st.integers(2, 10))
        else:
            role = draft.template(layout, stack)["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
            for statement in props_of(role)["Policies"][0]["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "StartWorkflow":
                    # The upstream defect: an Express pipe allowed only states:StartExecution.
                    statement["Action"] = ["states:DescribeExecution"]
    return {_location(draft, k) for k in draft.holders(site)}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("pipe misconfigured", "PIPE001", lambda e: sites(e, "AWS::Pipes::Pipe"), pipe_broken),
)
