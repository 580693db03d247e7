"""Generated changes of the real build, each classified right, and nothing else reported.

Every expectation is a literal with its source: the CloudFormation resource reference ("Update
requires" of each property), the DeletionPolicy page, or cfn-lint's provider schema where it is
the contract (conditional create-only). The build is only the input being changed.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ceap_templates.diff.render_json import as_data

from . import kit

#: AWS::Lambda::Function MemorySize: "Update requires: No interruption"; Code: "No interruption".
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html
LAMBDA_DOC = "aws-resource-lambda-function.html"
#: AWS::DynamoDB::Table TableName: "Update requires: Replacement".
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
#: KeySchema: the AWS page says Replacement; cfn-lint's provider schema (the classifier's source, as
#: the issue asks) lists it under conditionalCreateOnlyProperties, so it is "conditional".
#: AWS::StepFunctions::StateMachine StateMachineType: "Update requires: Replacement";
#: Definition: "No interruption".
#: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html

FUNCTIONS = kit.resources_of("AWS::Lambda::Function")
TABLES = kit.resources_of("AWS::DynamoDB::Table")
MACHINES = kit.resources_of("AWS::StepFunctions::StateMachine")
STATEFUL = kit.resources_of(*kit.STATEFUL)
ROLES = kit.resources_of("AWS::IAM::Role")


def _only_change(report: Any, key: kit.Key, logical_id: str) -> Any:
    """The report holds one change, of that resource, and nothing in the other lists."""
    data = as_data(report)
    assert [(c["environment"], c["layout"], c["stack"], c["logicalId"]) for c in data["changes"]] == [
        (*key, logical_id)
    ]
    assert data["exports"] == [] and data["security"] == [] and data["waves"] == []
    assert report.notes == ()
    return data["changes"][0]


def _properties(key: kit.Key, logical_id: str) -> dict[str, Any]:
    return dict(kit.stack(key).resources[logical_id]["Properties"])


def test_identical_builds_report_nothing() -> None:
    report = kit.diff(kit.real_build(), kit.real_build())
    assert as_data(report) == {"changes": [], "exports": [], "security": [], "waves": []}
    assert report.empty


def _reorder(node: Any, rng: random.Random, in_statement: bool = False) -> Any:
    """Same behaviour, other spelling: key order, statement/action/DependsOn order, "10"/10, "true"/true."""
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        result: dict[str, Any] = {}
        for key, value in items:
            unordered = key in ("Statement", "DependsOn") or (in_statement and key in ("Action", "Resource"))
            if unordered and isinstance(value, list):
                value = rng.sample(value, len(value))
            inside = key == "Statement" or (in_statement and key != "Condition")
            result[key] = _reorder(value, rng, inside)
        return result
    if isinstance(node, list):
        return [_reorder(v, rng, in_statement) for v in node]
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, int):
        return str(node)
    return node


@given(keys=st.lists(st.sampled_from(kit.stacks()), min_size=1, max_size=4, unique=True), seed=st.integers(0, 2**32))
def test_reordered_builds_report_nothing(keys: list[kit.Key], seed: int) -> None:
    rng = random.Random(seed)
    new = kit.real_build()
    for key in keys:

        def reorder(template: dict[str, Any]) -> None:
            resources = template["Resources"]
            template["Resources"] = _reorder(resources, rng)

        new = kit.edit(key, reorder, new)
    report = kit.diff(kit.real_build(), new)
    assert as_data(report) == {"changes": [], "exports": [], "security": [], "waves": []}, report


@given(site=st.sampled_from(FUNCTIONS), memory=st.integers(128, 10240))
def test_memory_change_is_in_place(site: tuple[kit.Key, str], memory: int) -> None:
    key, logical_id = site
    if str(_properties(key, logical_id).get("MemorySize")) == str(memory):
        memory += 1
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].__setitem__("MemorySize", memory))
    change = _only_change(kit.diff(kit.real_build(), new), key, logical_id)
    assert change == {
        "environment": key[0],
        "layout": key[1],
        "stack": key[2],
        "logicalId": logical_id,
        "type": "AWS::Lambda::Function",
        "action": "modify",
        "replacement": "never",  # LAMBDA_DOC: MemorySize, No interruption
        "dataLoss": False,
        "paths": ["Properties.MemorySize"],
    }


@given(site=st.sampled_from(FUNCTIONS), digest=st.text("0123456789abcdef", min_size=64, max_size=64))
def test_code_change_is_in_place_and_named(site: tuple[kit.Key, str], digest: str) -> None:
    key, logical_id = site
    new_key = f"lambda/ceap-handlers-{digest}.zip"
    if _properties(key, logical_id)["Code"]["S3Key"] == new_key:
        return
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"]["Code"].__setitem__("S3Key", new_key))
    report = kit.diff(kit.real_build(), new)
    change = _only_change(report, key, logical_id)
    assert (change["replacement"], change["dataLoss"], change["paths"]) == ("never", False, ["Properties.Code.S3Key"])
    assert report.changes[0].notes == ("code changed",)


@given(site=st.sampled_from(TABLES), suffix=st.text("abcdefghij", min_size=1, max_size=8))
def test_table_name_change_replaces_the_table(site: tuple[kit.Key, str], suffix: str) -> None:
    key, logical_id = site
    resource = kit.stack(key).resources[logical_id]
    name = _properties(key, logical_id)["TableName"]
    renamed = {"Fn::Join": ["-", [name, suffix]]} if not isinstance(name, str) else f"{name}-{suffix}"
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].__setitem__("TableName", renamed))
    report = kit.diff(kit.real_build(), new)
    change = _only_change(report, key, logical_id)
    keeps = resource.get("UpdateReplacePolicy") in kit.KEEPS_DATA
    assert change["replacement"] == "always"  # TableName: Update requires Replacement
    assert change["dataLoss"] is (not keeps)  # DeletionPolicy page: Delete deletes the data
    assert report.changes[0].fate == ("orphaned" if keeps else "data loss")
    # A new name: the replacement can be created beside the old table.
    assert not report.changes[0].will_fail


@given(site=st.sampled_from(TABLES), attribute=st.sampled_from(["tenantId", "id", "pk2"]))
def test_key_schema_change_is_conditional_replacement(site: tuple[kit.Key, str], attribute: str) -> None:
    key, logical_id = site
    resource = kit.stack(key).resources[logical_id]

    def change(template: dict[str, Any]) -> None:
        properties = template["Resources"][logical_id]["Properties"]
        properties["KeySchema"][0]["AttributeName"] = attribute
        properties["AttributeDefinitions"].append({"AttributeName": attribute, "AttributeType": "S"})

    report = kit.diff(kit.real_build(), kit.edit(key, change))
    found = _only_change(report, key, logical_id)
    keeps = resource.get("UpdateReplacePolicy") in kit.KEEPS_DATA
    assert found["replacement"] == "conditional"  # cfn-lint schema: conditionalCreateOnlyProperties
    assert found["paths"] == ["Properties.AttributeDefinitions", "Properties.KeySchema"]
    assert found["dataLoss"] is (not keeps)
    # Same TableName kept: if CloudFormation replaces, the new table cannot take the name.
    assert "may fail: custom name (if CloudFormation replaces)" in report.changes[0].notes


@given(site=st.sampled_from(MACHINES))
def test_machine_type_change_with_custom_name_will_fail(site: tuple[kit.Key, str]) -> None:
    key, logical_id = site
    other = {"STANDARD": "EXPRESS", "EXPRESS": "STANDARD"}[_properties(key, logical_id)["StateMachineType"]]
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].__setitem__("StateMachineType", other))
    report = kit.diff(kit.real_build(), new)
    change = _only_change(report, key, logical_id)
    assert (change["replacement"], change["dataLoss"]) == ("always", False)  # StateMachineType: Replacement
    # Name type page: a resource with a custom name cannot be replaced.
    assert "will fail: custom name" in report.changes[0].notes


@given(site=st.sampled_from(MACHINES), name=st.text("ABCDEFGHIJ", min_size=3, max_size=10))
def test_state_added_to_a_machine(site: tuple[kit.Key, str], name: str) -> None:
    key, logical_id = site
    state = f"Added{name}"
    new = kit.edit(
        key,
        lambda t: t["Resources"][logical_id]["Properties"]["Definition"]["States"].__setitem__(
            state, {"Type": "Pass", "End": True}
        ),
    )
    report = kit.diff(kit.real_build(), new)
    change = _only_change(report, key, logical_id)
    assert (change["replacement"], change["dataLoss"]) == ("never", False)  # Definition: No interruption
    assert change["paths"] == [f"Properties.Definition.States.{state}"]
    assert report.changes[0].states == ((state, "added (Pass)"),)


@given(site=st.sampled_from(MACHINES), attempts=st.integers(3, 10))
def test_retry_change_is_shown_state_by_state(site: tuple[kit.Key, str], attempts: int) -> None:
    key, logical_id = site
    states = _properties(key, logical_id)["Definition"]["States"]
    task = sorted(n for n, s in states.items() if s.get("Retry"))[0]

    def change(template: dict[str, Any]) -> None:
        template["Resources"][logical_id]["Properties"]["Definition"]["States"][task]["Retry"][0]["MaxAttempts"] = (
            attempts
        )

    report = kit.diff(kit.real_build(), kit.edit(key, change))
    _only_change(report, key, logical_id)
    assert report.changes[0].states == ((task, "changed Retry"),)


@given(site=st.sampled_from(STATEFUL), suffix=st.sampled_from(["V2", "Renamed", "X"]))
def test_logical_id_rename_of_stateful_resource(site: tuple[kit.Key, str], suffix: str) -> None:
    key, logical_id = site
    new_id = logical_id + suffix
    before = kit.stack(key).template
    resource = before["Resources"][logical_id]

    def rename(template: dict[str, Any]) -> None:
        resources = {new_id if k == logical_id else k: v for k, v in template["Resources"].items()}
        template["Resources"] = kit.rename_references(resources, logical_id, new_id)
        template["Outputs"] = kit.rename_references(template.get("Outputs", {}), logical_id, new_id)

    report = kit.diff(kit.real_build(), kit.edit(key, rename))
    by_id = {c.logical_id: c for c in report.changes}
    assert by_id[logical_id].action == "remove" and by_id[new_id].action == "add"
    keeps = resource.get("DeletionPolicy") in kit.KEEPS_DATA
    assert by_id[logical_id].data_loss is (not keeps)
    assert by_id[logical_id].fate == ("orphaned" if keeps else "data loss")
    assert f"looks like a rename or move of {logical_id}" in by_id[new_id].notes
    # Everything else reported is a resource that referred to the renamed one.
    referring = {k for k, v in before["Resources"].items() if k != logical_id and kit.mentions(v, logical_id)}
    others = {c.logical_id for c in report.changes} - {logical_id, new_id}
    assert others <= referring
    assert all(c.action == "modify" for c in report.changes if c.logical_id in others)
    outputs = {
        o["Export"]["Name"]["Fn::Sub"] for o in before.get("Outputs", {}).values() if kit.mentions(o, logical_id)
    }
    assert all(x.action == "modify" for x in report.exports)
    assert len(report.exports) == len(outputs)
    assert report.waves == ()


@given(key=st.sampled_from(kit.stacks()))
def test_stack_removed(key: kit.Key) -> None:
    old_stack = kit.stack(key)
    report = kit.diff(kit.real_build(), kit.remove_stack(key))
    assert {(c.stack, c.logical_id, c.action) for c in report.changes} == {
        (key[2], lid, "remove") for lid in old_stack.resources
    }
    assert [(s.stack, s.status) for s in report.stacks] == [(key[2], "removed")]
    for change in report.changes:
        resource = old_stack.resources[change.logical_id]
        stateful = resource["Type"] in kit.STATEFUL
        keeps = resource.get("DeletionPolicy") in kit.KEEPS_DATA
        assert change.data_loss is (stateful and not keeps), change
    manifest = kit.real_build().environments[key[0]].manifest
    exported = manifest["layouts"][key[1]]["stacks"][key[2]]["exports"]
    assert sorted(x.name for x in report.exports if x.action == "remove") == sorted(exported)
    assert all(x.action == "remove" for x in report.exports)
    assert {w.layout for w in report.waves} <= {key[1], "deploy"} and report.waves


def _imported_exports() -> list[tuple[kit.Key, str, str]]:
    """(producer key, output title, export name) of every export some stack imports (manifest)."""
    found = []
    for key in kit.stacks():
        producer = kit.stack(key)
        for name, title in producer.exports.items():
            env = kit.real_build().environments[key[0]]
            if any(i.name == name for s in env.stacks() for i in s.imports):
                found.append((key, title, name))
    return found


def _importers_in_manifest(env: str, layouts: set[str], export: str) -> list[str]:
    manifest = kit.real_build().environments[env].manifest
    return sorted(
        name
        for layout in layouts
        for name, entry in manifest["layouts"][layout]["stacks"].items()
        if any(i["export"] == export for i in entry["imports"])
    )


def test_export_removed_while_imported_literal() -> None:
    key = ("dev", "consolidated", "CeapDatabase-dev")
    new = kit.edit(key, lambda t: t["Outputs"].pop("CandidatesTableName"))
    report = as_data(kit.diff(kit.real_build(), new))
    # The consolidated plan's importers of the table name (build/dev/manifest.json, deploy waves 2).
    assert report == {
        "changes": [],
        "exports": [
            {
                "environment": "dev",
                "stack": "CeapDatabase-dev",
                "name": "CeapDatabase-dev-CandidatesTableName",
                "action": "remove",
                "importedBy": [
                    "CeapDataPlatform-dev",
                    "CeapServingAPI-dev",
                    "CeapWorkflow-batch",
                    "CeapWorkflow-realtime",
                ],
            }
        ],
        "security": [],
        "waves": [],
    }


@given(target=st.sampled_from(_imported_exports()))
def test_export_removed_while_imported(target: tuple[kit.Key, str, str]) -> None:
    key, title, name = target
    report = kit.diff(kit.real_build(), kit.edit(key, lambda t: t["Outputs"].pop(title)))
    env = kit.real_build().environments[key[0]]
    plan = env.deploy_layouts if key[1] in env.deploy_layouts else (key[1],)
    assert report.changes == () and report.security == () and report.waves == ()
    assert [(x.stack, x.name, x.action) for x in report.exports] == [(key[2], name, "remove")]
    assert list(report.exports[0].imported_by) == _importers_in_manifest(key[0], set(plan), name)
    assert report.exports[0].will_fail


def _statements(key: kit.Key, logical_id: str) -> list[tuple[int, int, dict[str, Any]]]:
    policies = _properties(key, logical_id).get("Policies", [])
    return [
        (p, s, statement)
        for p, policy in enumerate(policies)
        for s, statement in enumerate(policy["PolicyDocument"]["Statement"])
        if isinstance(statement.get("Action"), list)
    ]


IDENTITY = [(key, lid) for key, lid in ROLES if _statements(key, lid)]
NARROWABLE = [(key, lid, p, s) for key, lid in ROLES for p, s, st_ in _statements(key, lid) if len(st_["Action"]) > 1]


@given(site=st.sampled_from(IDENTITY), data=st.data(), action=st.sampled_from(["s3:DeleteBucket", "iam:PassRole"]))
def test_iam_widened(site: tuple[kit.Key, str], data: st.DataObject, action: str) -> None:
    key, logical_id = site
    p, s, statement = data.draw(st.sampled_from(_statements(key, logical_id)))
    if action in statement["Action"]:
        return

    def widen(template: dict[str, Any]) -> None:
        template["Resources"][logical_id]["Properties"]["Policies"][p]["PolicyDocument"]["Statement"][s][
            "Action"
        ].append(action)

    report = kit.diff(kit.real_build(), kit.edit(key, widen))
    assert [(c.logical_id, c.replacement, [str(x.path) for x in c.paths]) for c in report.changes] == [
        (logical_id, "never", [str(("Properties", "Policies"))])
    ]
    assert len(report.security) == 1
    item = report.security[0]
    assert (item.stack, item.logical_id, item.broadened) == (key[2], logical_id, True)
    assert [action in a["Action"] for a in item.added] == [True]
    assert [action in r["Action"] for r in item.removed] == [False]


@given(site=st.sampled_from(NARROWABLE), data=st.data())
def test_iam_narrowed(site: tuple[kit.Key, str, int, int], data: st.DataObject) -> None:
    key, logical_id, p, s = site
    actions = _properties(key, logical_id)["Policies"][p]["PolicyDocument"]["Statement"][s]["Action"]
    dropped = data.draw(st.sampled_from(actions))

    def narrow(template: dict[str, Any]) -> None:
        template["Resources"][logical_id]["Properties"]["Policies"][p]["PolicyDocument"]["Statement"][s][
            "Action"
        ].remove(dropped)

    report = kit.diff(kit.real_build(), kit.edit(key, narrow))
    assert len(report.security) == 1 and report.security[0].broadened is False
    assert [dropped in r["Action"] for r in report.security[0].removed] == [True]


@given(site=st.sampled_from(IDENTITY), data=st.data())
def test_iam_wildcard_resource_is_broadened(site: tuple[kit.Key, str], data: st.DataObject) -> None:
    key, logical_id = site
    p, s, statement = data.draw(st.sampled_from(_statements(key, logical_id)))
    if statement.get("Resource") in ("*", ["*"]):  # already everything (same grant, no change)
        return

    def wildcard(template: dict[str, Any]) -> None:
        template["Resources"][logical_id]["Properties"]["Policies"][p]["PolicyDocument"]["Statement"][s]["Resource"] = (
            "*"
        )

    report = kit.diff(kit.real_build(), kit.edit(key, wildcard))
    assert len(report.security) == 1 and report.security[0].broadened is True


BUCKETS = kit.resources_of("AWS::S3::Bucket")
BUCKET_POLICIES = kit.resources_of("AWS::S3::BucketPolicy")
PERMISSIONS = [(k, lid) for k, lid in kit.resources_of("AWS::Lambda::Permission") if "SourceArn" in _properties(k, lid)]
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


@given(site=st.sampled_from(BUCKETS), flag=st.sampled_from(PUBLIC_ACCESS_FLAGS))
def test_public_access_weakened(site: tuple[kit.Key, str], flag: str) -> None:
    """S3 Block Public Access: each flag off lets more in (AmazonS3 userguide/access-control-block-public-access)."""
    key, logical_id = site
    new = kit.edit(
        key,
        lambda t: t["Resources"][logical_id]["Properties"]["PublicAccessBlockConfiguration"].__setitem__(flag, False),
    )
    report = kit.diff(kit.real_build(), new)
    change = _only_change_in_place(report, key, logical_id)
    assert change.paths[0].path == ("Properties", "PublicAccessBlockConfiguration", flag)
    assert [(s.logical_id, s.broadened) for s in report.security] == [(logical_id, True)]
    setting = f"Properties.PublicAccessBlockConfiguration.{flag}"
    assert report.security[0].added == ({"setting": setting, "value": False},)
    assert report.security[0].removed == ({"setting": setting, "value": True},)


@given(site=st.sampled_from(BUCKETS))
def test_encryption_removed_is_weakened(site: tuple[kit.Key, str]) -> None:
    key, logical_id = site
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].pop("BucketEncryption"))
    report = kit.diff(kit.real_build(), new)
    _only_change_in_place(report, key, logical_id)
    assert [(s.logical_id, s.broadened, s.added) for s in report.security] == [(logical_id, True, ())]


@given(site=st.sampled_from(BUCKET_POLICIES))
def test_bucket_policy_deny_removed_is_broadened(site: tuple[kit.Key, str]) -> None:
    key, logical_id = site
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"]["PolicyDocument"]["Statement"].pop(0))
    report = kit.diff(kit.real_build(), new)
    _only_change_in_place(report, key, logical_id)
    assert [(s.logical_id, s.broadened, len(s.removed), s.added) for s in report.security] == [
        (logical_id, True, 1, ())
    ]
    assert report.security[0].removed[0]["Effect"] == "Deny"


@given(site=st.sampled_from(PERMISSIONS))
def test_permission_without_source_is_broadened(site: tuple[kit.Key, str]) -> None:
    """Lambda::Permission SourceArn: only that source may invoke; without it, any of the principal."""
    key, logical_id = site
    new = kit.edit(key, lambda t: t["Resources"][logical_id]["Properties"].pop("SourceArn"))
    report = kit.diff(kit.real_build(), new)
    change = _only_change_in_place(report, key, logical_id)
    assert change.replacement == "always"  # aws-resource-lambda-permission: SourceArn, Replacement
    assert [(s.logical_id, s.broadened) for s in report.security] == [(logical_id, True)]


def _only_change_in_place(report: Any, key: kit.Key, logical_id: str) -> Any:
    assert [(c.environment, c.layout, c.stack, c.logical_id, c.action) for c in report.changes] == [
        (*key, logical_id, "modify")
    ]
    assert report.exports == () and report.waves == () and report.notes == ()
    return report.changes[0]


WEAK = [
    (env.name, layout.name, ref)
    for env in kit.real_build().environments.values()
    for layout in env.layouts.values()
    for ref in layout.weak
]


@given(target=st.sampled_from(WEAK), suffix=st.sampled_from(["-v2", "2", "-new"]))
def test_weak_reference_broken(target: tuple[str, str, Any], suffix: str) -> None:
    env, layout, ref = target
    key = (env, layout, ref["producer"])
    renamed = ref["expected"] + suffix
    new = kit.edit(key, lambda t: t["Resources"][ref["resource"]]["Properties"].__setitem__(ref["property"], renamed))
    report = kit.diff(kit.real_build(), new)
    assert [(n.stack, n.kind) for n in report.notes] == [(ref["consumer"], "weak reference broken")]
    assert repr(renamed) in report.notes[0].text
    # The state machine's name is create-only (StateMachineName: Replacement); a new name does not collide.
    assert [(c.logical_id, c.replacement, c.will_fail) for c in report.changes] == [(ref["resource"], "always", False)]


IMPORTERS = [key for key in kit.stacks() if kit.stack(key).imports and "Outputs" in kit.stack(key).template]


@given(key=st.sampled_from(IMPORTERS), exists=st.booleans())
def test_import_added(key: kit.Key, exists: bool) -> None:
    """A new Fn::ImportValue: named with its producer, or "deploy will fail" when no stack exports it."""
    current = {i.name for i in kit.stack(key).imports}
    env = kit.real_build().environments[key[0]]
    plan = env.plan_stacks(env.plan_name(key[1]))
    exported = sorted(
        (name, producer)
        for producer, s in plan.items()
        if producer != key[2]
        for name in s.exports
        if name not in current
    )
    if exists and not exported:
        return
    name, producer = exported[0] if exists else (f"{key[0]}-NoSuchExport", None)

    def add(template: dict[str, Any]) -> None:
        template["Outputs"]["Probe"] = {"Value": {"Fn::ImportValue": name}}

    report = kit.diff(kit.real_build(), kit.edit(key, add))
    assert report.changes == () and report.exports == () and report.waves == ()
    expected = (
        ("import added", f"imports {name} from {producer}")
        if exists
        else ("import unresolved", f"imports {name}, which no stack of the plan exports (deploy will fail)")
    )
    assert [(n.stack, n.kind, n.text) for n in report.notes] == [(key[2], *expected)]


ARTIFACT_USERS = [key for key in kit.stacks() if "ArtifactBucket" in kit.stack(key).parameter_defaults]


@given(key=st.sampled_from(ARTIFACT_USERS))
def test_parameter_default_change_shows_on_the_resources_using_it(key: kit.Key) -> None:
    """The deploy passes the defaults (manifest parameters): a new default moves the code location."""

    def move(template: dict[str, Any]) -> None:
        template["Parameters"]["ArtifactBucket"]["Default"] = "ceap-artifacts-moved"

    report = kit.diff(kit.real_build(), kit.edit(key, move))
    users = {lid for lid, resource in kit.stack(key).resources.items() if kit.mentions(resource, "ArtifactBucket")}
    assert users and {c.logical_id for c in report.changes} == users
    functions = [c for c in report.changes if c.type == "AWS::Lambda::Function"]
    # Code.S3Bucket: "Update requires: No interruption" (aws-resource-lambda-function).
    assert functions and all(
        (c.replacement, [p.path for p in c.paths]) == ("never", [("Properties", "Code", "S3Bucket")]) for c in functions
    )
