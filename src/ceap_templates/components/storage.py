"""Storage components: the three platform tables (docs/legacy-system.md "Tables") and the stage hand-off bucket."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Sub, dynamodb, s3

from ceap_templates import arns, iam
from ceap_templates.configuration import Environment
from ceap_templates.constants import EXECUTIONS_EXPIRY_DAYS, EXECUTIONS_PREFIX
from ceap_templates.references import Scope, Shared


@dataclass(frozen=True)
class TableHandle:
    """A table and the values other stacks may import."""

    key: str
    table: dynamodb.Table
    name: Shared
    arn: Shared

    @property
    def has_indexes(self) -> bool:
        return bool(getattr(self.table, "GlobalSecondaryIndexes", None))


@dataclass(frozen=True)
class BucketHandle:
    bucket: s3.Bucket
    name: Shared
    arn: Shared


#: Deployed logical IDs (docs/legacy-system.md "Logical IDs"): changing one would replace the table.
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
    scope: Scope,
    title: str,
    name: str,
    *,
    hash_key: str,
    range_key: str | None,
    ttl: bool,
    disposable: bool = False,
    indexes: tuple[tuple[str, str, str], ...] = (),
) -> dynamodb.Table:
    """A pay-per-request table with PITR and SSE, retained and protected where the environment keeps data.

    ``disposable`` tables (a cache, a dedup window) are deleted with the stack in every environment.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html
    """
    protected = scope.retention.retain_data and not disposable
    props: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": _attributes(
            hash_key, *([range_key] if range_key else []), *(k for _, h, r in indexes for k in (h, r))
        ),
        "KeySchema": _key_schema(hash_key, range_key),
        "PointInTimeRecoverySpecification": dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        "SSESpecification": dynamodb.SSESpecification(SSEEnabled=True),
        "DeletionProtectionEnabled": protected,
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
    resource = dynamodb.Table(title, **props)
    return scope.discard(resource) if disposable else scope.keep(resource)


def table_handle(scope: Scope, key: str, resource: dynamodb.Table, *, public: bool) -> TableHandle:
    """The name and ARN of a table, offered as ``{key}TableName`` / ``{key}TableArn``."""
    return TableHandle(
        key=key,
        table=resource,
        name=scope.share(f"{key}TableName", Ref(resource), public=public),
        arn=scope.share(f"{key}TableArn", GetAtt(resource, "Arn"), public=public),
    )


def database_tables(scope: Scope, env: Environment) -> dict[str, TableHandle]:
    """Candidates, ProgramConfig and ScoreCache exactly as deployed (docs/legacy-system.md "Tables"), exported by
    name."""
    names = env.naming
    candidates = table(
        scope,
        CANDIDATES_ID,
        names.table("Candidates"),
        hash_key="PK",
        range_key="SK",
        ttl=True,
        indexes=(("ProgramChannelIndex", "GSI1PK", "GSI1SK"), ("ProgramDateIndex", "GSI2PK", "GSI2SK")),
    )
    program_config = table(
        scope, PROGRAM_CONFIG_ID, names.table("ProgramConfig"), hash_key="PK", range_key="SK", ttl=False
    )
    # A cache: losing it costs recomputation only, so it is never retained.
    score_cache = table(
        scope, SCORE_CACHE_ID, names.table("ScoreCache"), hash_key="PK", range_key="SK", ttl=True, disposable=True
    )
    resources = {"Candidates": candidates, "ProgramConfig": program_config, "ScoreCache": score_cache}
    for legacy in env.legacy_exports:
        # CDK auto-exports the legacy stacks still import; kept until legacy cleanup.
        resource = resources[legacy.table]
        value = Ref(resource) if legacy.attribute == "Name" else GetAtt(resource, "Arn")
        title = "Legacy" + "".join(ch for ch in legacy.name.split(":", 1)[-1] if ch.isalnum())
        scope.export_fixed(title[:255], legacy.name, value)
    return {key: table_handle(scope, key, resource, public=True) for key, resource in resources.items()}


def dedup_table(scope: Scope, env: Environment) -> TableHandle:
    """The Reactive function's dedup table; entries live minutes, so it is never retained."""
    resource = table(
        scope,
        DEDUP_ID,
        env.naming.dedup_table(),
        hash_key="deduplicationKey",
        range_key=None,
        ttl=True,
        disposable=True,
    )
    return table_handle(scope, "Deduplication", resource, public=False)


def handoff_bucket(
    scope: Scope,
    title: str,
    name: Any,
    *,
    share_as: str,
    public: bool = False,
    scratch_prefixes: tuple[str, ...] = (),
) -> BucketHandle:
    """A private, encrypted bucket whose ``executions/`` objects expire after 7 days (seed 004).

    ``scratch_prefixes`` (Glue temp folders) expire after a day: jobs clean up, crashes do not.
    Its name and ARN are offered as ``{share_as}Name`` / ``{share_as}Arn`` (the name exported if ``public``).

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
    bucket = scope.keep(s3.Bucket(title, **props))
    scope.add(
        s3.BucketPolicy(
            f"{title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=iam.policy(
                [iam.deny_insecure_transport("DenyInsecureTransport", [GetAtt(bucket, "Arn"), arns.all_objects(title)])]
            ),
        )
    )
    return BucketHandle(
        bucket,
        name=scope.share(f"{share_as}Name", Ref(bucket), public=public),
        arn=scope.share(f"{share_as}Arn", GetAtt(bucket, "Arn")),
    )


def batch_ingestion_bucket(scope: Scope, env: Environment) -> BucketHandle:
    """Stage hand-offs of the batch ingestion (``executions/{id}/{stage}/output.json``)."""
    return handoff_bucket(
        scope, "BatchIngestionBucket", env.naming.batch_bucket(scope.stack_name), share_as="BatchIngestionBucket"
    )
