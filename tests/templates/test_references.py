"""Cross-stack references: waves are topological levels; a cycle is an error naming it."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from troposphere import GetAtt, Ref, sqs

from ceap_templates.errors import ReferenceCycleError
from ceap_templates.naming import Naming
from ceap_templates.references import Assembly, Retention, deploy_waves


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    count = draw(st.integers(min_value=1, max_value=9))
    nodes = [f"Ceap{i}-dev" for i in range(count)]
    edges = draw(
        st.lists(
            st.tuples(st.integers(0, count - 1), st.integers(0, count - 1)).filter(lambda e: e[0] < e[1]),
            max_size=20,
        )
    )
    return nodes, [(nodes[a], nodes[b]) for a, b in edges]


@given(graph=dags())
def test_waves__every_producer_in_an_earlier_wave(graph: tuple[list[str], list[tuple[str, str]]]) -> None:
    nodes, edges = graph
    waves = deploy_waves(nodes, edges)
    level = {stack: i for i, wave in enumerate(waves) for stack in wave}
    assert sorted(level) == sorted(nodes)
    for producer, consumer in edges:
        assert level[producer] < level[consumer]
    # Levels are tight: each stack after the first wave has a producer in the wave just before.
    for stack, i in level.items():
        if i:
            assert any(level[p] == i - 1 for p, c in edges if c == stack)


@given(graph=dags(), data=st.data())
def test_waves__back_edge__cycle_error_names_the_cycle(
    graph: tuple[list[str], list[tuple[str, str]]], data: st.DataObject
) -> None:
    nodes, edges = graph
    if not edges:
        edges = [(nodes[0], nodes[0] + "x")]
        nodes = [*nodes, nodes[0] + "x"]
    producer, consumer = data.draw(st.sampled_from(edges))
    with pytest.raises(ReferenceCycleError) as caught:
        deploy_waves(nodes, [*edges, (consumer, producer)])
    message = str(caught.value)
    cycle = message.split(": ", 1)[1].split(" -> ")
    assert cycle[0] == cycle[-1] and len(cycle) >= 3
    closed = set(itertools.pairwise(cycle))
    assert closed <= set([*edges, (consumer, producer)])


def _assembly() -> Assembly:
    placement = {"producer": "CeapDatabase-dev", "consumer": "CeapDataPlatform-dev", "local": "CeapDataPlatform-dev"}
    describe = {s: s for s in placement.values()}
    return Assembly("test", placement, Naming("dev"), describe, Retention(retain_data=False, log_days=30))


def test_use__other_stack__export_parameter_import_and_edge() -> None:
    assembly = _assembly()
    producer = assembly.scope("producer")
    queue = producer.add(sqs.Queue("Q"))
    shared = producer.share("QueueArn", GetAtt(queue, "Arn"))
    consumer = assembly.scope("consumer")
    value = consumer.use(shared)
    assert value.to_dict() == {"Fn::ImportValue": {"Fn::Sub": "${DatabaseStackName}-QueueArn"}}
    layout = assembly.finish()
    assert [(e.producer, e.consumer, e.export) for e in layout.edges] == [
        ("CeapDatabase-dev", "CeapDataPlatform-dev", "QueueArn")
    ]
    outputs = layout.stacks["CeapDatabase-dev"].template.to_dict()["Outputs"]
    assert outputs["QueueArn"]["Export"] == {"Name": {"Fn::Sub": "${AWS::StackName}-QueueArn"}}
    parameters = layout.stacks["CeapDataPlatform-dev"].template.to_dict()["Parameters"]
    assert parameters["DatabaseStackName"]["Default"] == "CeapDatabase-dev"
    assert layout.waves == (("CeapDatabase-dev",), ("CeapDataPlatform-dev",))


def test_use__same_stack__plain_ref_no_export() -> None:
    assembly = _assembly()
    local = assembly.scope("local")
    queue = local.add(sqs.Queue("Q"))
    shared = local.share("QueueUrl", Ref(queue))
    assert assembly.scope("consumer").use(shared) is shared.value
    layout = assembly.finish()
    assert layout.edges == () and "Outputs" not in layout.stacks["CeapDataPlatform-dev"].template.to_dict()


def test_mutual_imports__build_error_names_both_stacks() -> None:
    assembly = _assembly()
    a, b = assembly.scope("producer"), assembly.scope("consumer")
    qa, qb = a.add(sqs.Queue("A")), b.add(sqs.Queue("B"))
    b.use(a.share("AArn", GetAtt(qa, "Arn")))
    a.use(b.share("BArn", GetAtt(qb, "Arn")))
    with pytest.raises(
        ReferenceCycleError,
        match=r"(CeapDatabase-dev -> CeapDataPlatform-dev -> CeapDatabase-dev)"
        r"|(CeapDataPlatform-dev -> CeapDatabase-dev -> CeapDataPlatform-dev)",
    ):
        assembly.finish()


def test_export_fixed__output_with_the_given_name_listed_with_the_regular_exports() -> None:
    assembly = _assembly()
    producer = assembly.scope("producer")
    queue = producer.add(sqs.Queue("Q"))
    producer.share("QueueArn", GetAtt(queue, "Arn"), public=True)
    # docs/legacy-system.md: the CDK auto-export names the legacy stacks import, e.g.
    # `CeapDatabase-dev:ExportsOutputRef...`.
    producer.export_fixed("LegacyQueue", "CeapDatabase-dev:ExportsOutputRefQ", Ref(queue))
    layout = assembly.finish()
    outputs = layout.stacks["CeapDatabase-dev"].template.to_dict()["Outputs"]
    assert outputs["LegacyQueue"]["Export"] == {"Name": "CeapDatabase-dev:ExportsOutputRefQ"}
    assert outputs["LegacyQueue"]["Value"] == {"Ref": "Q"}
    assert layout.exports["CeapDatabase-dev"] == ("CeapDatabase-dev-QueueArn", "CeapDatabase-dev:ExportsOutputRefQ")


def test_part__keeps_imports_from_outside_but_waves_among_its_own_stacks() -> None:
    placement = {"db": "CeapDatabase-dev", "a": "CeapWorkflow-a", "b": "CeapWorkflow-b"}
    assembly = Assembly("test", placement, Naming("dev"), {s: s for s in placement.values()}, Retention(False, 30))
    db = assembly.scope("db")
    shared = db.share("TableArn", GetAtt(db.add(sqs.Queue("Q")), "Arn"))
    assembly.scope("a").use(shared)
    assembly.scope("b").use(shared)
    whole = assembly.finish()
    assert whole.waves == (("CeapDatabase-dev",), ("CeapWorkflow-a", "CeapWorkflow-b"))
    workflows = whole.part("workflows", ["CeapWorkflow-a", "CeapWorkflow-b"])
    assert set(workflows.stacks) == {"CeapWorkflow-a", "CeapWorkflow-b"}
    assert {(e.producer, e.consumer) for e in workflows.edges} == {
        ("CeapDatabase-dev", "CeapWorkflow-a"),
        ("CeapDatabase-dev", "CeapWorkflow-b"),
    }
    # Deployed after the database, but nothing orders the two workflow stacks between themselves.
    assert workflows.waves == (("CeapWorkflow-a", "CeapWorkflow-b"),)


def test_scope_keep_and_discard__policies_follow_the_retention() -> None:
    for retain, expected in ((True, "Retain"), (False, "Delete")):
        placement = {"c": "CeapDatabase-dev"}
        assembly = Assembly("test", placement, Naming("dev"), {"CeapDatabase-dev": "d"}, Retention(retain, 30))
        scope = assembly.scope("c")
        kept, discarded = scope.keep(sqs.Queue("Kept")), scope.discard(sqs.Queue("Gone"))
        # cfn-lint I3011: both policies explicit on stateful resources.
        assert (kept.DeletionPolicy, kept.UpdateReplacePolicy) == (expected, expected)
        assert (discarded.DeletionPolicy, discarded.UpdateReplacePolicy) == ("Delete", "Delete")
