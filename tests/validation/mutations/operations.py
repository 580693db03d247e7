"""Mutations of a real build: Logging, tracing, dead letters, alerts (OPS rules)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from ceap_templates.validation.model import Environment

from .draft import (
    FUNCTION,
    MACHINE,
    Draft,
    Mutation,
    Site,
    _location,
    drop_resource,
    props_of,
    sites,
)


def remove_retention(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)["RetentionInDays"]
    return {_location(draft, k) for k in draft.holders(site)}


def unlogged_function(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)["LoggingConfig"]
    return {_location(draft, k) for k in draft.holders(site)}


def tracing_off(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        if resource["Type"] == FUNCTION:
            props_of(resource)["TracingConfig"]["Mode"] = "PassThrough"
        else:
            props_of(resource)["TracingConfiguration"]["Enabled"] = False
    return {_location(draft, k) for k in draft.holders(site)}


def drop_ok_actions(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    """CloudWatch notifies on state changes only: without OKActions nobody hears the queue is empty."""
    empty = data.draw(st.booleans())
    for _, resource in draft.resources(site):
        if empty:
            props_of(resource)["OKActions"] = []
        else:
            del props_of(resource)["OKActions"]
    return {_location(draft, k) for k in draft.holders(site)}


def logging_reduced(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    field_ = data.draw(st.sampled_from(["Level", "IncludeExecutionData"]))
    for _, resource in draft.resources(site):
        logging = props_of(resource)["LoggingConfiguration"]
        logging[field_] = "ERROR" if field_ == "Level" else False
    return {_location(draft, k) for k in draft.holders(site)}


def _dlq_targets(env: Environment) -> list[tuple[str, Site]]:
    found = [
        ("receive-count", s)
        for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "RedrivePolicy" in props_of(r))
    ]
    found += [
        ("no-redrive", s) for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "RedrivePolicy" in props_of(r))
    ]
    found += [
        ("rule-target", s)
        for s in sites(
            env,
            "AWS::Events::Rule",
            where=lambda s, i, r: any("DeadLetterConfig" in t for t in props_of(r).get("Targets", [])),
        )
    ]
    found += [("dlq-retention", s) for s in sites(env, "AWS::SQS::Queue", where=lambda s, i, r: "DeadLetterQueue" in i)]
    found += [
        ("async-function", s) for s in sites(env, FUNCTION, where=lambda s, i, r: "DeadLetterConfig" in props_of(r))
    ]
    return sorted(found)


def dead_letter_broken(draft: Draft, target: tuple[str, Site], data: st.DataObject) -> set[str]:
    how, site = target
    for _, resource in draft.resources(site):
        props = props_of(resource)
        if how == "receive-count":
            props["RedrivePolicy"]["maxReceiveCount"] = data.draw(st.sampled_from([1, 2, 5, 10]))
        elif how == "no-redrive":
            del props["RedrivePolicy"]
        elif how == "rule-target":
            del props["Targets"][0]["DeadLetterConfig"]
        elif how == "dlq-retention":
            props["MessageRetentionPeriod"] = 4 * 24 * 3600
        else:
            del props["DeadLetterConfig"]
    return {_location(draft, k) for k in draft.holders(site)}


def _failure_rules(env: Environment) -> list[Site]:
    return sites(
        env, "AWS::Events::Rule", where=lambda s, i, r: "aws.states" in json.dumps(props_of(r).get("EventPattern"))
    )


def failure_rule_blind(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    status = data.draw(st.sampled_from([["FAILED"], ["FAILED", "TIMED_OUT"], ["ABORTED"]]))
    for _, resource in draft.resources(site):
        props_of(resource)["EventPattern"]["detail"]["status"] = status
    return {_location(draft, k) for k in draft.holders(site)}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("remove log retention", "OPS001", lambda e: sites(e, "AWS::Logs::LogGroup"), remove_retention),
    Mutation(
        "function logs to an implicit group",
        "OPS001",
        lambda e: sites(e, FUNCTION, where=lambda s, i, r: "FunctionName" not in props_of(r)),
        unlogged_function,
    ),
    Mutation("tracing off", "OPS002", lambda e: sites(e, FUNCTION, MACHINE), tracing_off),
    Mutation("machine logging reduced", "OPS003", lambda e: sites(e, MACHINE), logging_reduced),
    Mutation("dead-letter handling broken", "OPS004", _dlq_targets, dead_letter_broken),
    Mutation("failure rule misses statuses", "OPS005", _failure_rules, failure_rule_blind),
    Mutation(
        "DLQ alarm does not notify recovery",
        "OPS006",
        lambda e: sites(e, "AWS::CloudWatch::Alarm", where=lambda s, i, r: props_of(r).get("Namespace") == "AWS/SQS"),
        drop_ok_actions,
    ),
    Mutation(
        "drop the DLQ depth alarm",
        "OPS006",
        lambda e: sites(e, "AWS::CloudWatch::Alarm", where=lambda s, i, r: props_of(r).get("Namespace") == "AWS/SQS"),
        drop_resource,
    ),
)
