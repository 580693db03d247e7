"""Seed 000 "Correctness Properties" 1-10 over generated environment configurations.

Each test builds a generated configuration in memory, checks the property, and where the
property is a check the migration tooling runs, also shows that the check fails on a build that
breaks it (a check that cannot fail proves nothing).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.configuration import Environment
from ceap_templates.validation.docs_check import is_migration_document, read_documents, stale_references
from ceap_templates.validation.engine import run
from ceap_templates.validation.equivalence import LayoutRuntime, configuration_differences
from ceap_templates.validation.legacy_system import CONSOLIDATED, LEGACY
from ceap_templates.validation.migration_check import (
    CDK_INTERNAL,
    PRESENT,
    REPLACED,
    MigrationCheckError,
    counterparts,
    require_counterparts,
)
from ceap_templates.validation.model import Build, build_from_environments, stack_from_text
from ceap_templates.validation.rules import all_rules

from .conftest import ROOT
from .expected import (
    BATCH_INGESTION_MACHINE_ID as MACHINE_ID,
)
from .expected import (
    BATCH_INGESTION_SCHEDULE_ID as SCHEDULE_ID,
)
from .expected import (
    CONSOLIDATED_STACK,
    CUSTOMER_EVENT_SOURCE,
    CUSTOMER_EVENT_TYPES,
    DATABASE_TABLE_IDS,
    LEGACY_IDS,
    LEGACY_ONLY_STACKS,
    template_json,
)
from .strategies import (
    config_events,
    customer_events,
    environment_model,
    event_times,
    platform_environments,
    requests,
)

FEATURE = "infrastructure-consolidation"
RULES = {r.id: r for r in all_rules()}


def _rules(build: Build, *ids: str) -> list[Any]:
    return list(run(build, [RULES[i] for i in ids]))


def _templates(env_model: Any, layout: str) -> dict[str, dict[str, Any]]:
    return {name: copy.deepcopy(dict(s.template)) for name, s in env_model.layouts[layout].stacks.items()}


def _with_template(env_model: Any, layout: str, name: str, template: dict[str, Any]) -> Any:
    """The environment model with one template replaced (parsed again, like a build)."""
    old = env_model.layouts[layout].stacks[name]
    stack = stack_from_text(old.env, layout, name, old.path, template_json(template).encode("utf-8"))
    stacks = dict(env_model.layouts[layout].stacks) | {name: stack}
    layouts = dict(env_model.layouts) | {layout: replace(env_model.layouts[layout], stacks=stacks)}
    return replace(env_model, layouts=layouts)


# ---- Property 1 -----------------------------------------------------------------------------
@given(env=platform_environments, drift=st.booleans(), data=st.data())
def test_property_1__database_stack_preserved(env: Environment, drift: bool, data: st.DataObject) -> None:
    """Feature: infrastructure-consolidation, Property 1: Database Stack Preservation.

    Every resource of the legacy ``CeapDatabase-{env}`` exists, identically configured, after
    consolidation; the docs/legacy-system.md tables stay in ``CeapDatabase-{env}``. A drifted table is caught.
    """
    model = environment_model(env)
    database = f"CeapDatabase-{env.name}"
    legacy_db = model.layouts[LEGACY].stacks[database]
    tables = list(DATABASE_TABLE_IDS)
    assert set(tables) <= set(legacy_db.resources)
    for logical_id in tables:
        assert database in [s.name for s in model.layouts[CONSOLIDATED].resource_index[logical_id]]
    if drift:
        table = data.draw(st.sampled_from(tables))
        template = _templates(model, CONSOLIDATED)[database]
        template["Resources"][table]["Properties"]["BillingMode"] = "PROVISIONED"
        model = _with_template(model, CONSOLIDATED, database, template)
    differing = {
        d.logical_id for d in configuration_differences(model, LEGACY, CONSOLIDATED) if d.old_stack.name == database
    }
    assert bool(differing) == drift
    for logical_id in legacy_db.resources:
        assert len(model.layouts[CONSOLIDATED].resource_index.get(logical_id, ())) == 1


# ---- Property 2 -----------------------------------------------------------------------------
@given(env=platform_environments, duplicate=st.booleans(), data=st.data())
def test_property_2__consolidation_complete(env: Environment, duplicate: bool, data: st.DataObject) -> None:
    """Feature: infrastructure-consolidation, Property 2: Resource Consolidation Completeness.

    Every resource of the 7 legacy stacks exists in exactly one of the 3 new stacks.
    """
    model = environment_model(env)
    new_names = {f"Ceap{r}-{env.name}" for r in ("Database", "DataPlatform", "ServingAPI")}
    assert set(model.layouts[CONSOLIDATED].stacks) == new_names
    assert len(model.layouts[LEGACY].stacks) == 7
    legacy = {n: s.template for n, s in model.layouts[LEGACY].stacks.items()}
    new = _templates(model, CONSOLIDATED)
    if duplicate:
        # The same logical ID in two new stacks: "exactly one" is broken.
        logical_id = data.draw(st.sampled_from(sorted(new[f"CeapDataPlatform-{env.name}"]["Resources"])))
        other = f"CeapServingAPI-{env.name}"
        new[other]["Resources"][logical_id] = new[f"CeapDataPlatform-{env.name}"]["Resources"][logical_id]
    found = counterparts(legacy, new)
    assert len(found) == sum(len(s.resources) for s in model.layouts[LEGACY].stacks.values())
    holders = {c.logical_id: c.new_stacks for c in found}
    assert all(c.status == PRESENT for c in found) == (not duplicate)
    if not duplicate:
        assert all(len(h) == 1 and h[0] in new_names for h in holders.values())


# ---- Property 3 -----------------------------------------------------------------------------
PRESERVED_TYPES = (
    "AWS::Lambda::Function",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::Rule",
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
)


@given(env=platform_environments, type_=st.sampled_from(PRESERVED_TYPES), drift=st.booleans(), data=st.data())
def test_property_3__resources_preserved(env: Environment, type_: str, drift: bool, data: st.DataObject) -> None:
    """Feature: infrastructure-consolidation, Property 3: Resource Preservation.

    Functions, state machines, rules, tables and roles of the legacy stacks have the same
    properties, permissions and behaviour (placement aside) in the new stacks.
    """
    model = environment_model(env)
    legacy_ids = sorted(i for s in model.layouts[LEGACY].stacks.values() for i, _ in s.of_type(type_))
    assert legacy_ids
    logical_id = data.draw(st.sampled_from(legacy_ids))
    if drift:
        (stack,) = model.layouts[CONSOLIDATED].resource_index[logical_id]
        template = _templates(model, CONSOLIDATED)[stack.name]
        # A permission or setting changed in the new stack only.
        template["Resources"][logical_id]["Properties"]["CeapDrift"] = True
        model = _with_template(model, CONSOLIDATED, stack.name, template)
    differing = {d.logical_id for d in configuration_differences(model, LEGACY, CONSOLIDATED)}
    assert (logical_id in differing) == drift
    assert differing <= {logical_id}


# ---- Property 4 -----------------------------------------------------------------------------
INVOKE = "arn:aws:states:::lambda:invoke"
READ = "arn:aws:states:::s3:getObject"
#: One run of the batch ingestion on its success path: ``(state, integration, stage or list read)``
#: of each invocation. Its stages are ETL, Filter, Score, Store (docs/legacy-system.md); issue 16
#: shards them (docs/design.md "Sizing", lambdas/README.md "Sharded hand-off"): ETL plans the
#: request's source into shards, runs once per shard and writes its manifest (config/environments.yaml
#: ``sizing``: "ETL runs once per shard"); Filter, Score and Store each run once per part of the
#: previous stage, a Distributed Map over its ``parts.json``, then their ``{Stage}Manifest`` step.
#: A Map's trace is the read of its item list, then its child for one item.
BATCH_INGESTION_TRACE = [
    ("ETLPlan", INVOKE, "ETL"),
    ("ETL", READ, "ETL/sources.json"),
    ("ETLPart", INVOKE, "ETL"),
    ("ETLManifest", INVOKE, "ETL"),
    ("Filter", READ, "ETL/parts.json"),
    ("FilterPart", INVOKE, "Filter"),
    ("FilterManifest", INVOKE, "Filter"),
    ("Score", READ, "Filter/parts.json"),
    ("ScorePart", INVOKE, "Score"),
    ("ScoreManifest", INVOKE, "Score"),
    ("Store", READ, "Score/parts.json"),
    ("StorePart", INVOKE, "Store"),
    ("StoreManifest", INVOKE, "Store"),
]
#: What a traced Map child gets as its item (equivalence.SYMBOLIC_MAP_ITEM: no S3 is read).
TRACED_ITEM = {"key": "<item key>", "count": 1, "index": 0}


def _shape(trace: list[Any]) -> list[tuple[str, str, str]]:
    """``(state, integration, stage)`` of each invocation of one run; a read's is the list it reads
    under the run's prefix (``executions/{executionId}/``, the first payload's ``executionId``)."""
    prefix = f"executions/{trace[0].payload['executionId']}/"
    shape = []
    for i in trace:
        if i.integration == READ:
            assert i.payload["Key"].startswith(prefix), i
            shape.append((i.state, i.integration, i.payload["Key"][len(prefix) :]))
        else:
            shape.append((i.state, i.integration, i.payload["currentStage"]))
    return shape


@given(
    env=platform_environments,
    request=requests,
    entry=st.sampled_from(["direct", "schedule", "config-update", "customer-event"]),
    data=st.data(),
)
def test_property_4__functional_equivalence(
    env: Environment, request: dict[str, Any], entry: str, data: st.DataObject
) -> None:
    """Feature: infrastructure-consolidation, Property 4: Functional Equivalence.

    The same request runs through the same stage definitions (handler, runtime, code, memory,
    timeout, environment) and the same tables in the legacy and the consolidated layout; a sharded
    stage reads the same item list and gives its children the same payload.
    """
    model = environment_model(env)
    runtimes = {layout: LayoutRuntime(model, layout) for layout in (LEGACY, CONSOLIDATED)}
    traces: dict[str, list[Any]] = {}
    event: dict[str, Any] = {}
    runs: list[list[Any]] = []
    if entry == "schedule":
        time = data.draw(event_times)
        runs = runtimes[CONSOLIDATED].scheduled_runs(SCHEDULE_ID, time)
        traces = {k: [i for run_ in r.scheduled_runs(SCHEDULE_ID, time) for i in run_] for k, r in runtimes.items()}
    elif entry == "config-update":
        event = data.draw(config_events())
        traces = {k: r.deliver_event(event) for k, r in runtimes.items()}
    elif entry == "customer-event":
        event = data.draw(customer_events())
        traces = {k: r.deliver_event(event) for k, r in runtimes.items()}
    else:
        traces = {k: r.start_execution(MACHINE_ID, request) for k, r in runtimes.items()}
    assert traces[LEGACY] == traces[CONSOLIDATED]
    trace = traces[CONSOLIDATED]
    tables = {f"{t}-{env.name}" for t in ("Candidates", "ProgramConfig", "ScoreCache")}
    if entry == "direct":
        assert _shape(trace) == BATCH_INGESTION_TRACE
        assert trace[0].payload["executionId"] == "exec-1"
        etl = [i for i in trace if i.integration == INVOKE and i.payload["currentStage"] == "ETL"]
        assert len(etl) == 3 and all(i.payload["initialData"] == request for i in etl)
        children = [i for i in trace if i.state.endswith("Part")]
        assert [i.payload.get("source", i.payload.get("part")) for i in children] == [TRACED_ITEM] * 4
        invoked = [i for i in trace if i.integration == INVOKE]
        variables = [v for i in invoked for v in i.target["Environment"]["Variables"].values()]
        used = {v["name"] for v in variables if isinstance(v, dict) and v["type"] == "AWS::DynamoDB::Table"}
        assert used >= tables
    if entry == "schedule":
        # One run per scheduled program, each with the program's request (the schedule's targets).
        assert [_shape(run_) for run_ in runs] == [BATCH_INGESTION_TRACE] * len(env.programs)
        assert [run_[0].payload["initialData"]["programId"] for run_ in runs] == [p.program_id for p in env.programs]
    if entry == "customer-event":
        routed = event["source"] == CUSTOMER_EVENT_SOURCE and event["detail-type"] in CUSTOMER_EVENT_TYPES
        assert len(trace) == (1 if routed else 0)
    if entry == "config-update":
        assert (trace[0].state, trace[0].target) == ("RunBatchIngestion", {"stateMachine": MACHINE_ID})
        assert _shape(trace[1:]) == BATCH_INGESTION_TRACE
        assert trace[1].payload["initialData"]["programId"] == event["detail"]["programId"]


@given(env=platform_environments, request=requests, mutation=st.sampled_from(["item", "reader"]), data=st.data())
def test_property_4__a_changed_map_is_caught(
    env: Environment, request: dict[str, Any], mutation: str, data: st.DataObject
) -> None:
    """Feature: infrastructure-consolidation, Property 4: Functional Equivalence (the check can fail).

    A consolidated Map that gives its children something else than their item (``ItemSelector``)
    or reads another stage's list (``ItemReader``) traces differently from the legacy one, at that
    Map's child or at its read, and nowhere else.
    """
    model = environment_model(env)
    (stack,) = model.layouts[CONSOLIDATED].resource_index[MACHINE_ID]
    template = _templates(model, CONSOLIDATED)[stack.name]
    states = template["Resources"][MACHINE_ID]["Properties"]["Definition"]["States"]
    maps = sorted(n for n, s in states.items() if s["Type"] == "Map")
    assert maps == ["ETL", "Filter", "Score", "Store"]  # BATCH_INGESTION_TRACE
    name = data.draw(st.sampled_from(maps))
    state = states[name]
    if mutation == "item":
        (field,) = [k for k, v in state["ItemSelector"].items() if v == "$$.Map.Item.Value"]
        state["ItemSelector"][field] = "$$.Map.Item.Index"
        changed = state["ItemProcessor"]["StartAt"]
    else:
        parameters = state["ItemReader"]["Parameters"]
        parameters["Key.$"] = re.sub(r"/\w+/(\w+)\.json'", r"/Store/\1.json'", parameters["Key.$"])
        changed = name
    model = _with_template(model, CONSOLIDATED, stack.name, template)
    traces = {k: LayoutRuntime(model, k).start_execution(MACHINE_ID, request) for k in (LEGACY, CONSOLIDATED)}
    assert traces[LEGACY] != traces[CONSOLIDATED]
    assert len(traces[LEGACY]) == len(traces[CONSOLIDATED])
    differing = [a.state for a, b in zip(traces[LEGACY], traces[CONSOLIDATED], strict=True) if a != b]
    assert differing == [changed]


# ---- Property 5 -----------------------------------------------------------------------------
@given(env=platform_environments, data=st.data())
def test_property_5__cleanup_refused_while_a_counterpart_is_missing(env: Environment, data: st.DataObject) -> None:
    """Feature: infrastructure-consolidation, Property 5: Resource Validation Before Cleanup.

    The migration check refuses while any legacy resource lacks its counterpart, names each one,
    and accepts CDK internals (metadata, log-retention provider) that explicit log groups replace.
    """
    model = environment_model(env)
    legacy = _templates(model, LEGACY)
    new = _templates(model, CONSOLIDATED)
    every = sorted((n, i) for n, t in new.items() for i in t["Resources"])
    removed = data.draw(st.lists(st.sampled_from(every), unique=True, max_size=4))
    retyped = data.draw(st.lists(st.sampled_from([e for e in every if e not in removed]), unique=True, max_size=2))
    for stack, logical_id in removed:
        del new[stack]["Resources"][logical_id]
    for stack, logical_id in retyped:
        new[stack]["Resources"][logical_id] = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    # What the deployed CDK templates also hold: accepted, never "missing".
    first = sorted(legacy)[0]
    legacy[first]["Resources"]["CDKMetadata"] = {"Type": "AWS::CDK::Metadata"}
    legacy[first]["Resources"]["ETLLambdaFunctionLogRetention1A2B3C4D"] = {"Type": "Custom::LogRetention"}
    legacy[first]["Resources"]["LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"] = {"Type": "AWS::Lambda::Function"}
    blocking = {i for _, i in removed + retyped}
    if blocking:
        try:
            require_counterparts(legacy, new)
        except MigrationCheckError as error:
            assert {c.logical_id for c in error.missing} == blocking
            assert all(c.logical_id in str(error) for c in error.missing)
        else:
            raise AssertionError("cleanup allowed although counterparts are missing")
    else:
        statuses = {c.logical_id: c.status for c in require_counterparts(legacy, new)}
        assert statuses["CDKMetadata"] == CDK_INTERNAL
        assert (
            statuses["ETLLambdaFunctionLogRetention1A2B3C4D"]
            == statuses["LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"]
            == REPLACED
        )


# ---- Property 6 -----------------------------------------------------------------------------
LEGACY_STACKS = list(LEGACY_ONLY_STACKS)
NEUTRAL_WORDS = st.sampled_from(
    ["Deploy", "the", "stack", "tables", "waves", "CeapDataPlatform-dev", "run", "`build/`"]
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[int]]:
    """A Markdown document and the line numbers the rule must flag (labelled while generating)."""
    lines: list[str] = []
    violations: list[int] = []
    headings: list[tuple[int, bool]] = []  # (level, legacy context)
    for _ in range(draw(st.integers(1, 6))):
        level = draw(st.integers(1, 4))
        context = draw(st.booleans())
        title = (
            draw(st.sampled_from(["Legacy stacks", "Migration plan", "Migrating"]))
            if context
            else draw(st.sampled_from(["Deploy", "Architecture", "Operations"]))
        )
        headings = [h for h in headings if h[0] < level] + [(level, context)]
        lines += [f"{'#' * level} {title}", ""]
        fenced = draw(st.booleans())
        if fenced:
            lines.append("```bash")
        for _ in range(draw(st.integers(0, 5))):
            words = draw(st.lists(NEUTRAL_WORDS, min_size=1, max_size=5))
            mentions = draw(st.booleans())
            says_legacy = draw(st.booleans())
            if mentions:
                env = draw(st.sampled_from(["", "-dev", "-prod", "-{env}"]))
                words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(LEGACY_STACKS)) + env)
            if says_legacy:
                words.append(draw(st.sampled_from(["(legacy)", "before the migration", "LEGACY"])))
            if fenced:
                words.insert(0, "#")  # a comment in code: not a heading
            lines.append(" ".join(words))
            if mentions and not says_legacy and not any(c for _, c in headings):
                violations.append(len(lines))
        if fenced:
            lines.append("```")
    return "\n".join(lines) + "\n", violations


@given(doc=documents(), migration_doc=st.booleans())
def test_property_6__docs_name_old_stacks_only_as_legacy(doc: tuple[str, list[int]], migration_doc: bool) -> None:
    """Feature: infrastructure-consolidation, Property 6: Documentation Reference Cleanup.

    Outside migration documents, a line naming an old stack must say it is legacy/migration or
    sit under such a heading; every other mention is flagged with the stack to use instead.
    """
    text, violations = doc
    path = "docs/migration/runbook.md" if migration_doc else "docs/operations.md"
    found = stale_references(path, text)
    assert is_migration_document(path) == migration_doc
    expected = [] if migration_doc else violations
    assert sorted({f.line for f in found}) == expected
    for stale in found:
        assert stale.replacement.startswith(CONSOLIDATED_STACK[stale.stack.split("-")[0]])


def test_property_6__repository_and_build_docs_are_clean(base_build: Build) -> None:
    """Feature: infrastructure-consolidation, Property 6: Documentation Reference Cleanup (real docs)."""
    docs = read_documents([ROOT / "README.md", *([ROOT / "docs"] if (ROOT / "docs").is_dir() else [])])
    for env in base_build.environments.values():
        docs |= {f"{env.name}/{p}": t for p, t in env.documents.items()}
    assert any("ARCHITECTURE.md" in p for p in docs)
    assert [s for p, t in docs.items() for s in stale_references(p, t)] == []
    # The build's own architecture page does name the legacy stacks, under its legacy heading.
    assert any(re.search(r"CeapEtlWorkflow-", t) for p, t in docs.items() if "ARCHITECTURE" in p)


# ---- Property 7 -----------------------------------------------------------------------------
@given(env=platform_environments, rename=st.booleans(), data=st.data())
def test_property_7__logical_names_preserved(env: Environment, rename: bool, data: st.DataObject) -> None:
    """Feature: infrastructure-consolidation, Property 7: Logical Name Preservation.

    Every resource that moved keeps its deployed logical ID; a changed ID is reported (LEG001).
    """
    model = environment_model(env)
    for logical_id, stacks in LEGACY_IDS.items():
        for layout, stack in zip((LEGACY, CONSOLIDATED), stacks, strict=True):
            holders = [s.name for s in model.layouts[layout].resource_index.get(logical_id, ())]
            assert holders == [f"{stack}-{env.name}"]
    if rename:
        logical_id = data.draw(st.sampled_from(sorted(LEGACY_IDS)))
        stack = f"{LEGACY_IDS[logical_id][1]}-{env.name}"
        template = _templates(model, CONSOLIDATED)[stack]
        template["Resources"][logical_id + "New"] = template["Resources"].pop(logical_id)
        model = _with_template(model, CONSOLIDATED, stack, template)
    findings = _rules(build_from_environments([model]), "LEG001")
    assert bool(findings) == rename


# ---- Property 8 -----------------------------------------------------------------------------
@given(env=platform_environments)
def test_property_8__names_carry_stack_or_purpose(env: Environment) -> None:
    """Feature: infrastructure-consolidation, Property 8: Naming Consistency.

    Every explicit name follows the naming module's pattern and carries the stack or the
    environment (functions ``{Stack}-{Purpose}Lambda``, tables ``{Name}-{env}``...).
    """
    from ceap_templates.validation.rules.naming import physical_names

    model = environment_model(env)
    assert _rules(build_from_environments([model]), "NAME001", "NAME002", "NAME003") == []
    for stack in model.stacks():
        for _, _, kind, name in physical_names(stack):
            assert env.name in name, (stack.name, name)
            if kind == "lambda":
                assert name.startswith(f"{stack.name}-") and name.endswith("Lambda")
                assert f"-{env.name}-{env.name}-" not in name


# ---- Property 9 -----------------------------------------------------------------------------
@given(env=platform_environments)
def test_property_9__cross_stack_references_use_exports_or_parameters(env: Environment) -> None:
    """Feature: infrastructure-consolidation, Property 9: Cross-Stack Reference Mechanisms.

    Every cross-stack reference of the new templates is ``Fn::ImportValue`` of
    ``${ProducerStackName}-Name`` through a stack-name parameter defaulting to the producer, or a
    declared weak reference (ServingAPI -> the orchestration, by deterministic name).
    """
    model = environment_model(env)
    stacks = model.layouts[CONSOLIDATED].stacks
    for stack in stacks.values():
        for imported in stack.imports:
            body = imported.raw["Fn::Sub"]
            parameter, name = re.fullmatch(r"\$\{(\w+StackName)\}-(\w+)", body).groups()  # type: ignore[union-attr]
            producer = stack.parameter_defaults[parameter]
            assert producer in stacks and producer != stack.name
            assert f"{producer}-{name}" in stacks[producer].exports
    serving, platform = f"CeapServingAPI-{env.name}", f"CeapDataPlatform-{env.name}"
    producers = {
        stacks[serving].parameter_defaults[i.raw["Fn::Sub"][2:].split("}")[0]] for i in stacks[serving].imports
    }
    assert platform not in producers  # same wave: no deploy-time import of the data platform
    (weak,) = model.layouts[CONSOLIDATED].weak
    assert (weak["consumer"], weak["producer"], weak["resource"]) == (serving, platform, MACHINE_ID)
    assert _rules(build_from_environments([model]), "REF001", "REF002", "REF003", "REF004") == []


# ---- Property 10 ----------------------------------------------------------------------------
def _imports_in(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if "Fn::ImportValue" in node else []
        return found + [n for v in node.values() for n in _imports_in(v)]
    if isinstance(node, list):
        return [n for v in node for n in _imports_in(v)]
    return []


@given(
    env=platform_environments,
    layout=st.sampled_from([CONSOLIDATED, LEGACY]),
    how=st.sampled_from(["none", "drop", "retarget"]),
    data=st.data(),
)
def test_property_10__references_validated_before_deployment(
    env: Environment, layout: str, how: str, data: st.DataObject
) -> None:
    """Feature: infrastructure-consolidation, Property 10: Cross-Stack Reference Validation.

    Before any deployment the validation proves each import has its export in an earlier wave;
    a dropped export or an import of a name nobody exports is refused (REF001), naming it.
    """
    model = environment_model(env)
    stacks = model.layouts[layout].stacks
    imported = sorted({(s.name, str(i.name)) for s in stacks.values() for i in s.imports})
    consumer, export = data.draw(st.sampled_from(imported))
    if how == "drop":
        producer = next(s for s in stacks.values() if export in s.exports)
        template = _templates(model, layout)[producer.name]
        del template["Outputs"][producer.exports[export]]
        model = _with_template(model, layout, producer.name, template)
    elif how == "retarget":
        template = _templates(model, layout)[consumer]
        for node in _imports_in(template):
            if stacks[consumer].resolve_text(node["Fn::ImportValue"]) == export:
                node["Fn::ImportValue"]["Fn::Sub"] += "Gone"
        model = _with_template(model, layout, consumer, template)
    findings = _rules(build_from_environments([model]), "REF001")
    assert bool(findings) == (how != "none")
    if how == "drop":
        assert any(export in f.message for f in findings)


def test_property_5__gate_on_saved_legacy_templates(base_build: Build, tmp_path: Any) -> None:
    """Feature: infrastructure-consolidation, Property 5: Resource Validation Before Cleanup (saved templates).

    The gate reads legacy templates saved as files (what backup-templates.sh keeps) and refuses
    once a saved resource has no counterpart in the new stacks.
    """
    from ceap_templates.validation.migration_check import read_templates

    env = base_build.environments["prod"]
    for name, stack in env.layouts[LEGACY].stacks.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(stack.template))
    legacy = read_templates(tmp_path)
    new = {n: dict(s.template) for n, s in env.layouts[CONSOLIDATED].stacks.items()}
    assert sorted(legacy) == sorted(env.layouts[LEGACY].stacks)
    assert all(c.ok for c in require_counterparts(legacy, new))
    legacy["CeapOrchestration-prod"]["Resources"]["ExtraQueue"] = {"Type": "AWS::SQS::Queue"}
    try:
        require_counterparts(legacy, new)
    except MigrationCheckError as error:
        assert [c.describe() for c in error.missing] == [
            "CeapOrchestration-prod/ExtraQueue (AWS::SQS::Queue): no resource with this logical ID in the new stacks"
        ]
    else:
        raise AssertionError("cleanup allowed with a legacy resource missing from the new stacks")
