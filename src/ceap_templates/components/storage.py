"""Storage components: the three platform tables (LEGACY.md) and the stage hand-off bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Bool, Condition, Deny, Policy, Principal, Statement
from troposphere import GetAtt, Ref, Sub, dynamodb, s3

from ceap_templates.components.common import stateful
from ceap_templates.configuration import Environment
from ceap_templates.constants import EXECUTIONS_EXPIRY_DAYS, EXECUTIONS_PREFIX
from ceap_templates.references import Scope, Shared


@dataclass(frozen=True)
class TableHandle:
    """A table and the values other stacks may import."""

    key: str
    logical_id: str
    name: Shared
    arn: Shared
    has_indexes: bool


@dataclass(frozen=True)
class BucketHandle:
    logical_id: str
    name: Shared
    arn: Shared


#: Deployed logical IDs (LEGACY.md): changing one would replace the table.
CANDIDATES_ID = "CandidatesTableB438AE0C"
PROGRAM_CONFIG_ID = "ProgramConfigTableE4B88D2D"
SCORE_CACHE_ID = "ScoreCacheTable789CCB88"
DEDUP_ID = "DeduplicationTableAD30DFB7"


def _key_schema(hash_key: str, range_key: str | None = None) -> list[dynamodb.KeySchema]:
    keys = [dynamodb.KeySchema(AttributeName=hash_key, KeyType="HASH")]
    if range_key:
        keys.append(dynamodb.KeySchema(AttributeName=range_key, KeyType="RANGE"))
    return keys


def _attributes(*names: str) -> list[dynamodb.AttributeDefinition]:
    return [dynamodb.AttributeDefinition(AttributeName=n, AttributeType="S") for n in names]


def table(
    title: str,
    name: str,
    *,
    hash_key: str,
    range_key: str | None,
    ttl: bool,
    retain: bool,
    indexes: tuple[tuple[str, str, str], ...] = (),
) -> dynamodb.Table:
    """A pay-per-request table with PITR and SSE.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html
    """
    props: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _attributes(
            hash_key, *([range_key] if range_key else []), *(k for _, h, r in indexes for k in (h, r))
        ),
        "KeySchema": _key_schema(hash_key, range_key),
        "PointInTimeRecoverySpecification": dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        "SSESpecification": dynamodb.SSESpecification(SSEEnabled=True),
        "DeletionProtectionEnabled": retain,
    }
    if indexes:
        props["GlobalSecondaryIndexes"] = [
            dynamodb.GlobalSecondaryIndex(
                IndexName=index,
                KeySchema=_key_schema(h, r),
                Projection=dynamodb.Projection(ProjectionType="ALL"),
            )
            for index, h, r in indexes
        ]
    if ttl:
        props["TimeToLiveSpecification"] = dynamodb.TimeToLiveSpecification(AttributeName="ttl", Enabled=True)
    return stateful(dynamodb.Table(title, **props), retain)


def _handle(scope: Scope, key: str, resource: dynamodb.Table, has_indexes: bool) -> TableHandle:
    return TableHandle(
        key=key,
        logical_id=resource.title,
        name=scope.share(f"{key}TableName", Ref(resource), public=True),
        arn=scope.share(f"{key}TableArn", GetAtt(resource, "Arn"), public=True),
        has_indexes=has_indexes,
    )


def database_tables(scope: Scope, env: Environment) -> dict[str, TableHandle]:
    """Candidates, ProgramConfig and ScoreCache exactly as deployed (LEGACY.md), exported by name."""
    names = env.naming
    candidates = scope.add(
        table(
            CANDIDATES_ID,
            names.table("Candidates"),
            hash_key="PK",
            range_key="SK",
            ttl=True,
            retain=env.retain_data,
            indexes=(("ProgramChannelIndex", "GSI1PK", "GSI1SK"), ("ProgramDateIndex", "GSI2PK", "GSI2SK")),
        )
    )
    program_config = scope.add(
        table(
            PROGRAM_CONFIG_ID,
            names.table("ProgramConfig"),
            hash_key="PK",
            range_key="SK",
            ttl=False,
            retain=env.retain_data,
        )
    )
    # A cache: losing it costs recomputation only, so it is never retained.
    score_cache = scope.add(
        table(SCORE_CACHE_ID, names.table("ScoreCache"), hash_key="PK", range_key="SK", ttl=True, retain=False)
    )
    handles = {
        "Candidates": _handle(scope, "Candidates", candidates, True),
        "ProgramConfig": _handle(scope, "ProgramConfig", program_config, False),
        "ScoreCache": _handle(scope, "ScoreCache", score_cache, False),
    }
    for legacy in env.legacy_exports:
        # CDK auto-exports the legacy stacks still import; kept until legacy cleanup.
        resource = {"Candidates": candidates, "ProgramConfig": program_config, "ScoreCache": score_cache}[legacy.table]
        value = Ref(resource) if legacy.attribute == "Name" else GetAtt(resource, "Arn")
        scope.template.add_output(_legacy_output(legacy.name, value))
    return handles


def _legacy_output(export_name: str, value: Any) -> Any:
    from troposphere import Export, Output

    title = "Legacy" + "".join(ch for ch in export_name.split(":", 1)[-1] if ch.isalnum())
    return Output(title[:255], Value=value, Export=Export(export_name), Description="CDK auto-export kept for legacy")


def dedup_table(scope: Scope, env: Environment) -> dynamodb.Table:
    """The Reactive function's dedup table; entries live minutes, so it is never retained."""
    return scope.add(
        table(DEDUP_ID, env.naming.dedup_table(), hash_key="deduplicationKey", range_key=None, ttl=True, retain=False)
    )


def handoff_bucket(
    scope: Scope, title: str, name: Any, retain: bool, scratch_prefixes: tuple[str, ...] = ()
) -> s3.Bucket:
    """A private, encrypted bucket whose ``executions/`` objects expire after 7 days (seed 004).

    ``scratch_prefixes`` (Glue temp folders) expire after a day: jobs clean up, crashes do not.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucket.html
    """
    props: dict[str, Any] = {
        "BucketEncryption": s3.BucketEncryption(
            ServerSideEncryptionConfiguration=[
                s3.ServerSideEncryptionRule(
                    ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
                    BucketKeyEnabled=True,
                )
            ]
        ),
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
        ),
        "OwnershipControls": s3.OwnershipControls(
            Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
        ),
        "VersioningConfiguration": s3.VersioningConfiguration(Status="Enabled"),
        "LifecycleConfiguration": s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id="ExpireExecutions",
                    Status="Enabled",
                    Prefix=EXECUTIONS_PREFIX,
                    ExpirationInDays=EXECUTIONS_EXPIRY_DAYS,
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
                ),
                *(
                    s3.LifecycleRule(
                        Id=f"ExpireScratch{index}",
                        Status="Enabled",
                        Prefix=prefix,
                        ExpirationInDays=1,
                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
                    )
                    for index, prefix in enumerate(scratch_prefixes, start=1)
                ),
                s3.LifecycleRule(
                    Id="AbortIncompleteUploads",
                    Status="Enabled",
                    AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
                ),
            ]
        ),
    }
    if name:
        props["BucketName"] = Sub(name) if "${" in name else name
    bucket = scope.add(stateful(s3.Bucket(title, **props), retain))
    scope.add(
        s3.BucketPolicy(
            f"{title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=Policy(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="DenyInsecureTransport",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=[s3_actions.Action("*")],
                        Resource=[GetAtt(bucket, "Arn"), Sub("${" + title + ".Arn}/*")],
                        Condition=Condition(Bool("aws:SecureTransport", "false")),
                    )
                ],
            ),
        )
    )
    return bucket


def batch_ingestion_bucket(scope: Scope, env: Environment) -> BucketHandle:
    """Stage hand-offs of the batch ingestion (``executions/{id}/{stage}/output.json``)."""
    bucket = handoff_bucket(scope, "BatchIngestionBucket", env.naming.batch_bucket(), env.retain_data)
    return BucketHandle(
        logical_id=bucket.title,
        name=scope.share("BatchIngestionBucketName", Ref(bucket)),
        arn=scope.share("BatchIngestionBucketArn", GetAtt(bucket, "Arn")),
    )
