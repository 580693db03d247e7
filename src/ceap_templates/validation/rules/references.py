"""Cross-stack references (docs/design.md 5): imports, cycles, weak references, export naming."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping

from ceap_templates.validation import names
from ceap_templates.validation.model import Build, Environment, Stack
from ceap_templates.validation.rule import Hit, Rule, hit

Edges = set[tuple[str, str]]


def plan_edges(stacks: Mapping[str, Stack]) -> Edges:
    """``(producer, consumer)`` for every import a stack of the plan resolves to another's export."""
    exporters: dict[str, list[str]] = {}
    for stack in stacks.values():
        for name in stack.exports:
            exporters.setdefault(name, []).append(stack.name)
    return {(p, s.name) for s in stacks.values() for i in s.imports for p in exporters.get(i.name or "", [])}


def cycles(nodes: Iterable[str], edges: Edges) -> list[list[str]]:
    """One closed path per strongly connected component that has a cycle (Tarjan, deterministic)."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for producer, consumer in sorted(edges):
        successors.setdefault(producer, []).append(consumer)
        successors.setdefault(consumer, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in successors[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(successors):
        if node not in index:
            visit(node)
    result = []
    for component in sorted(components):
        members = set(component)
        start = component[0]
        if len(component) == 1 and (start, start) not in edges:
            continue
        result.append(_closed_path(start, members, successors))
    return result


def _closed_path(start: str, members: set[str], successors: Mapping[str, list[str]]) -> list[str]:
    """Shortest path ``start -> ... -> start`` inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in successors[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start, start]  # pragma: no cover - a cyclic component always closes


def _cyclic_edges(stacks: Mapping[str, Stack]) -> tuple[Edges, list[list[str]]]:
    edges = plan_edges(stacks)
    found = cycles(stacks, edges)
    on_cycle: Edges = set()
    for path in found:
        component = set(path)
        on_cycle |= {(p, c) for p, c in edges if p in component and c in component}
    return on_cycle, found


def _plans(build: Build) -> Iterator[tuple[Environment, str, dict[str, Stack]]]:
    for env in build.environments.values():
        for plan in env.plans():
            yield env, plan, env.plan_stacks(plan)


# ---- REF001 ---------------------------------------------------------------------------------
def check_imports(build: Build) -> Iterator[Hit]:
    """Every import names an export of a stack deployed in an earlier wave of the same plan."""
    for env, plan, stacks in _plans(build):
        level = {name: i for i, wave in enumerate(env.plan_waves(plan)) for name in wave}
        exporters: dict[str, list[str]] = {}
        for stack in stacks.values():
            for name in stack.exports:
                exporters.setdefault(name, []).append(stack.name)
        on_cycle, _ = _cyclic_edges(stacks)
        for stack in stacks.values():
            for imported in stack.imports:
                if imported.name is None:
                    yield hit(
                        stack,
                        imported.resource,
                        f"Fn::ImportValue {json.dumps(imported.raw)} cannot be resolved; "
                        "use Fn::Sub '${ProducerStackName}-Name' with a stack-name parameter",
                    )
                    continue
                producers = exporters.get(imported.name, [])
                if not producers:
                    yield hit(
                        stack,
                        imported.resource,
                        f"imports '{imported.name}', which no stack of this deploy plan exports",
                    )
                    continue
                for producer in producers:
                    if (producer, stack.name) in on_cycle or stack.name not in level or producer not in level:
                        continue  # cycles: REF002; stacks missing from the waves: MAN001
                    if level[producer] >= level[stack.name]:
                        yield hit(
                            stack,
                            imported.resource,
                            f"imports '{imported.name}' from {producer} (wave {level[producer] + 1}), which does not "
                            f"deploy before this stack (wave {level[stack.name] + 1})",
                        )


# ---- REF002 ---------------------------------------------------------------------------------
def check_cycles(build: Build) -> Iterator[Hit]:
    """No stack depends on itself through imports."""
    for _env, plan, stacks in _plans(build):
        _, found = _cyclic_edges(stacks)
        for path in found:
            yield hit(
                stacks[path[0]],
                "-",
                f"cross-stack imports form a cycle ({plan}): {' -> '.join(path)}; CloudFormation can deploy none first",
            )


# ---- REF003 ---------------------------------------------------------------------------------
def _mentions(stack: Stack, expected: str) -> bool:
    pattern = re.compile(r"(?<![A-Za-z0-9-])" + re.escape(expected) + r"(?![A-Za-z0-9-])")
    return bool(pattern.search(json.dumps(stack.template.get("Resources", {}))))


def check_weak_references(build: Build) -> Iterator[Hit]:
    """Each weak reference names a resource its producer defines with the expected name."""
    for env in build.environments.values():
        for layout in env.layouts.values():
            for weak in layout.weak:
                consumer = layout.stacks.get(str(weak.get("consumer")))
                producer = layout.stacks.get(str(weak.get("producer")))
                resource, prop, expected = weak.get("resource"), weak.get("property"), weak.get("expected")
                if consumer is None or producer is None:
                    where = f"{env.name}/manifest.json"
                    yield Hit(
                        where, f"layouts.{layout.name}.weakReferences", f"names a stack not in the layout: {weak}"
                    )
                    continue
                defined = producer.resources.get(str(resource))
                if defined is None:
                    yield hit(
                        consumer, "-", f"weak reference to {producer.name}/{resource}, which is not defined there"
                    )
                    continue
                actual = defined.get("Properties", {}).get(str(prop))
                if actual != expected:
                    yield hit(
                        consumer,
                        "-",
                        f"weak reference expects {producer.name}/{resource}.{prop} == {expected!r}, "
                        f"the producer defines {actual!r}",
                    )
                if not isinstance(expected, str) or not _mentions(consumer, expected):
                    yield hit(
                        consumer, "-", f"weak reference to {expected!r} but no resource of this stack uses that name"
                    )


# ---- REF004 ---------------------------------------------------------------------------------
def check_export_naming(build: Build) -> Iterator[Hit]:
    """Exports are ``${AWS::StackName}-{Name}``, unique per plan; ``{Role}StackName`` parameters."""
    for env, _plan, stacks in _plans(build):
        owners: dict[str, str] = {}
        for stack in stacks.values():
            for title, output in stack.template.get("Outputs", {}).items():
                export = output.get("Export") if isinstance(output, dict) else None
                if export is None:
                    continue
                name = export.get("Name") if isinstance(export, dict) else None
                cdk_auto_export = isinstance(name, str) and name.startswith(f"{stack.name}:ExportsOutput")
                if name != {"Fn::Sub": f"${{AWS::StackName}}-{title}"} and not cdk_auto_export:
                    yield hit(
                        stack,
                        f"Outputs.{title}",
                        f"export name {json.dumps(name)} is not '${{AWS::StackName}}-{title}'",
                    )
            for export in stack.exports:
                if export in owners:
                    yield hit(stack, "-", f"export '{export}' is also exported by {owners[export]}")
                owners.setdefault(export, stack.name)
            for parameter, default in stack.parameter_defaults.items():
                if not parameter.endswith("StackName"):
                    continue
                if default not in stacks:
                    yield hit(
                        stack, f"Parameters.{parameter}", f"default {default!r} is not a stack of this deploy plan"
                    )
                    continue
                wanted = names.stack_parameter(env.name, str(default))
                if parameter != wanted:
                    yield hit(stack, f"Parameters.{parameter}", f"names stack {default}; call it {wanted!r}")


RULES = (
    Rule(
        "REF001",
        "every Fn::ImportValue names an export of a stack in an earlier wave of the same deploy plan",
        "docs/design.md 5; "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html",
        check_imports,
    ),
    Rule(
        "REF002",
        "cross-stack imports form no cycle",
        "docs/design.md 5 (a cycle is a build error naming the cycle)",
        check_cycles,
    ),
    Rule(
        "REF003",
        "each weak reference names a resource its producer defines with the expected physical name, used by the "
        "consumer",
        "docs/design.md 4.1 (ServingAPI -> orchestration by deterministic name)",
        check_weak_references,
    ),
    Rule(
        "REF004",
        "exports are '${AWS::StackName}-{Name}' and unique per plan; stack-name parameters are '{Role}StackName' "
        "defaulting to a stack of the plan",
        "docs/design.md 3 and 5",
        check_export_naming,
    ),
)
