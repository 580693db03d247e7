"""Cross-stack references (docs/design.md 5): the one module that hands out intrinsics between stacks.

A component offers values as :class:`Shared`; another component asks its :class:`Scope` to
``use`` one. Inside one stack that is the plain ``Ref``/``GetAtt``; across stacks it becomes an
export on the producer (``${AWS::StackName}-{Name}``), a ``{Producer}StackName`` parameter on
the consumer and ``Fn::ImportValue`` of ``Fn::Sub``, and the producer->consumer edge is recorded.
Deploy waves are the topological levels of those edges; a cycle is an error naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from troposphere import AWSObject, Export, ImportValue, Output, Parameter, Sub, Template

from ceap_templates.errors import ReferenceCycleError, WiringError
from ceap_templates.naming import Naming


@dataclass(frozen=True)
class Shared:
    """A value one component offers to others.

    Parameters
    ----------
    owner:
        Component id that defines it (placement decides the stack).
    name:
        Export suffix, explicit and stable: exports are API (append-only).
    value:
        The intrinsic valid inside the owner's stack (``Ref(table)``, ``GetAtt(fn, "Arn")``).
    public:
        Exported even when nothing in the layout imports it (e.g. the database tables).
    """

    owner: str
    name: str
    value: Any = field(compare=False)
    public: bool = False


@dataclass(frozen=True)
class Retention:
    """What an environment keeps when a stack is deleted or a resource replaced, and for how long logs live."""

    retain_data: bool
    log_days: int

    @property
    def data_policy(self) -> str:
        """``Retain`` where the environment keeps data, else ``Delete`` (always explicit)."""
        return "Retain" if self.retain_data else "Delete"


@dataclass(frozen=True)
class WeakReference:
    """A value built from a deterministic physical name instead of an import (no deploy order)."""

    consumer: str
    producer: str
    resource: str
    property: str
    expected: str


@dataclass(frozen=True)
class FixedExport:
    """An export whose name is fixed from outside (a CDK auto-export other stacks still import)."""

    owner: str
    title: str
    export_name: str
    value: Any = field(compare=False)


@dataclass(frozen=True)
class Edge:
    """``consumer`` imports ``export`` from ``producer``."""

    producer: str
    consumer: str
    export: str


@dataclass
class StackDraft:
    """A stack being assembled: its template and where its resources came from."""

    name: str
    template: Template
    components: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AssembledLayout:
    """The result of placing every component: templates, references and deploy waves."""

    layout: str
    stacks: Mapping[str, StackDraft]
    edges: tuple[Edge, ...]
    weak: tuple[WeakReference, ...]
    #: Stack -> every export name as deployed (``{stack}-{Name}`` and fixed names), sorted.
    exports: Mapping[str, tuple[str, ...]]
    waves: tuple[tuple[str, ...], ...]

    def part(self, layout: str, stacks: Iterable[str]) -> AssembledLayout:
        """The view of some of the stacks: their imports (from anywhere), and waves among themselves."""
        keep = list(stacks)
        edges = tuple(e for e in self.edges if e.consumer in keep)
        return AssembledLayout(
            layout=layout,
            stacks={s: self.stacks[s] for s in keep},
            edges=edges,
            weak=tuple(w for w in self.weak if w.consumer in keep),
            exports={s: self.exports[s] for s in keep},
            waves=deploy_waves(keep, ((e.producer, e.consumer) for e in edges if e.producer in keep)),
        )


class Assembly:
    """Places components into stacks for one layout of one environment.

    Parameters
    ----------
    layout:
        Layout name (``consolidated``, ``legacy``, ``workflows``).
    placement:
        Component id -> stack name.
    naming:
        Names of the environment (for the ``{Producer}StackName`` parameters).
    describe:
        Stack name -> template description.
    retention:
        The environment's deletion and log-retention policy, applied by :meth:`Scope.keep`.
    """

    def __init__(
        self,
        layout: str,
        placement: Mapping[str, str],
        naming: Naming,
        describe: Mapping[str, str],
        retention: Retention,
    ) -> None:
        self.layout = layout
        self.retention = retention
        self.placement = dict(placement)
        self.naming = naming
        self.stacks: dict[str, StackDraft] = {}
        for stack in dict.fromkeys(placement.values()):
            template = Template(Description=describe[stack])
            template.set_version()
            self.stacks[stack] = StackDraft(stack, template)
        self._edges: dict[tuple[str, str, str], Edge] = {}
        self._exports: dict[str, dict[str, Shared]] = {s: {} for s in self.stacks}
        self._fixed: dict[str, list[FixedExport]] = {s: [] for s in self.stacks}
        self._weak: list[WeakReference] = []

    def stack_of(self, component: str) -> str:
        try:
            return self.placement[component]
        except KeyError:
            raise WiringError(f"layout '{self.layout}' does not place component '{component}'") from None

    def scope(self, component: str) -> Scope:
        """The handle a component builder writes through."""
        stack = self.stack_of(component)
        self.stacks[stack].components.append(component)
        return Scope(self, component, self.stacks[stack])

    def offer(self, shared: Shared) -> Shared:
        """Register a value; public ones are exported whether or not they are used."""
        if shared.public:
            self._export(shared)
        return shared

    def _export(self, shared: Shared) -> None:
        stack = self.stack_of(shared.owner)
        known = self._exports[stack].get(shared.name)
        if known is not None and known.owner != shared.owner:
            raise WiringError(f"{stack}: export '{shared.name}' offered by '{known.owner}' and '{shared.owner}'")
        self._exports[stack][shared.name] = shared

    def export_fixed(self, fixed: FixedExport) -> None:
        """Export a value under a name chosen outside this library (kept for legacy importers)."""
        self._fixed[self.stack_of(fixed.owner)].append(fixed)

    def _import(self, consumer: StackDraft, shared: Shared) -> Any:
        producer = self.stack_of(shared.owner)
        self._export(shared)
        self._edges[(producer, consumer.name, shared.name)] = Edge(producer, consumer.name, shared.name)
        parameter = self.stack_parameter(consumer, producer)
        return ImportValue(Sub(f"${{{parameter}}}-{shared.name}"))

    def stack_parameter(self, consumer: StackDraft, producer: str) -> str:
        """Ensure ``{Producer}StackName`` exists on the consumer (default: the producer's name)."""
        title = self.naming.stack_parameter(producer)
        if title not in consumer.template.parameters:
            consumer.template.add_parameter(
                Parameter(
                    title,
                    Type="String",
                    Default=producer,
                    AllowedPattern="^[A-Za-z][A-Za-z0-9-]{0,127}$",
                    Description=f"Name of the deployed {producer} stack whose exports this stack uses",
                )
            )
        return title

    def weak_reference(self, reference: WeakReference) -> None:
        self._weak.append(reference)

    def finish(self) -> AssembledLayout:
        """Add the export outputs and compute the waves."""
        for stack, exports in self._exports.items():
            template = self.stacks[stack].template
            for name in sorted(exports):
                template.add_output(
                    Output(
                        name,
                        Description=f"Export {name} (stable API: append-only)",
                        Value=exports[name].value,
                        Export=Export(Sub(f"${{AWS::StackName}}-{name}")),
                    )
                )
            for fixed in self._fixed[stack]:
                template.add_output(
                    Output(
                        fixed.title,
                        Value=fixed.value,
                        Export=Export(fixed.export_name),
                        Description="CDK auto-export kept for legacy",
                    )
                )
        edges = tuple(sorted(self._edges.values(), key=lambda e: (e.consumer, e.producer, e.export)))
        return AssembledLayout(
            layout=self.layout,
            stacks=self.stacks,
            edges=edges,
            weak=tuple(self._weak),
            exports={
                stack: tuple(
                    sorted([f"{stack}-{name}" for name in exports] + [f.export_name for f in self._fixed[stack]])
                )
                for stack, exports in self._exports.items()
            },
            waves=deploy_waves(self.stacks, ((e.producer, e.consumer) for e in edges)),
        )


class Scope:
    """What a component builder sees: its stack's template and the reference rules."""

    def __init__(self, assembly: Assembly, component: str, stack: StackDraft) -> None:
        self._assembly = assembly
        self.component = component
        self.stack = stack

    @property
    def stack_name(self) -> str:
        return self.stack.name

    @property
    def retention(self) -> Retention:
        return self._assembly.retention

    @property
    def naming(self) -> Naming:
        return self._assembly.naming

    def add(self, resource: AWSObject) -> Any:
        """Add a resource to this component's stack and return it."""
        return self.stack.template.add_resource(resource)

    def keep(self, resource: AWSObject) -> Any:
        """Add a resource holding data: retained where the environment retains data (cfn-lint I3011)."""
        return self.add(_with_policy(resource, self.retention.data_policy))

    def discard(self, resource: AWSObject) -> Any:
        """Add a resource whose content is disposable: always deleted, explicitly."""
        return self.add(_with_policy(resource, "Delete"))

    def parameter(self, parameter: Parameter) -> Parameter:
        """Add a parameter once (several components may need the same one)."""
        existing = self.stack.template.parameters.get(parameter.title)
        return existing if existing is not None else self.stack.template.add_parameter(parameter)

    def share(self, name: str, value: Any, *, public: bool = False) -> Shared:
        """Offer ``value`` (valid in this stack) to other components under a stable name."""
        return self._assembly.offer(Shared(self.component, name, value, public))

    def export_fixed(self, title: str, export_name: str, value: Any) -> None:
        """Export ``value`` under a name fixed from outside (output ``title``)."""
        self._assembly.export_fixed(FixedExport(self.component, title, export_name, value))

    def use(self, shared: Shared) -> Any:
        """The intrinsic for ``shared`` as seen from this stack (same stack: Ref; else import)."""
        if self._assembly.stack_of(shared.owner) == self.stack.name:
            return shared.value
        return self._assembly._import(self.stack, shared)

    def weak(self, producer_component: str, resource: AWSObject, prop: str, expected: str) -> str:
        """Record a weak reference; return the producer stack's ``{Producer}StackName`` parameter.

        The value itself is built by the caller from ``expected`` (a deterministic physical name);
        the validation suite proves the producer defines ``resource`` with ``prop == expected``.
        """
        producer = self._assembly.stack_of(producer_component)
        self._assembly.weak_reference(WeakReference(self.stack.name, producer, resource.title, prop, expected))
        if producer == self.stack.name:
            raise WiringError(f"{self.stack.name}: weak reference to its own resource '{resource}'")
        return self._assembly.stack_parameter(self.stack, producer)


def _with_policy(resource: AWSObject, policy: str) -> AWSObject:
    resource.DeletionPolicy = policy
    resource.UpdateReplacePolicy = policy
    return resource


def deploy_waves(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> tuple[tuple[str, ...], ...]:
    """Topological levels of ``(producer, consumer)`` edges; stacks within a level sorted.

    Raises
    ------
    ReferenceCycleError
        Naming one cycle, e.g. ``CeapA-dev -> CeapB-dev -> CeapA-dev``.
    """
    pending: dict[str, set[str]] = {n: set() for n in nodes}  # consumer -> producers not yet placed
    for producer, consumer in edges:
        if producer != consumer:
            pending.setdefault(consumer, set()).add(producer)
            pending.setdefault(producer, set())
    waves: list[tuple[str, ...]] = []
    placed: set[str] = set()
    while len(placed) < len(pending):
        ready = sorted(n for n, deps in pending.items() if n not in placed and deps <= placed)
        if not ready:
            raise ReferenceCycleError(f"cross-stack references form a cycle: {' -> '.join(_cycle(pending, placed))}")
        waves.append(tuple(ready))
        placed.update(ready)
    return tuple(waves)


def _cycle(pending: Mapping[str, set[str]], placed: set[str]) -> list[str]:
    """One cycle among the unplaced nodes, as a closed path (deterministic)."""
    start = sorted(n for n in pending if n not in placed)[0]
    path = [start]
    seen = {start: 0}
    node = start
    while True:
        node = sorted(d for d in pending[node] if d not in placed)[0]
        if node in seen:
            loop = [*path[seen[node] :], node]
            return list(reversed(loop))  # producer -> consumer order
        seen[node] = len(path)
        path.append(node)
