"""Encryption at rest, no public buckets, TLS only (docs/design.md 4.3, 12)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ceap_templates.validation.model import Build, Stack
from ceap_templates.validation.rule import Hit, Rule, hit
from ceap_templates.validation.rules._util import as_list, props, target, target_of_type

_SSE_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}
_PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


def _bucket_encrypted(p: Mapping[str, Any]) -> bool:
    rules = as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"))
    return bool(rules) and all(
        (r.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") in _SSE_ALGORITHMS for r in rules
    )


def _glue_encrypted(stack: Stack, p: Mapping[str, Any]) -> bool:
    found = target_of_type(stack, p.get("SecurityConfiguration"), "AWS::Glue::SecurityConfiguration")
    if found is None:
        return False
    s3 = as_list(props(found[1]).get("EncryptionConfiguration", {}).get("S3Encryptions"))
    return bool(s3) and all(e.get("S3EncryptionMode") not in (None, "DISABLED") for e in s3)


def _encryption_problem(stack: Stack, type_: str, p: Mapping[str, Any]) -> str | None:
    if type_ == "AWS::S3::Bucket" and not _bucket_encrypted(p):
        return "bucket without default encryption (BucketEncryption SSE rule)"
    if type_ == "AWS::SQS::Queue" and not (p.get("SqsManagedSseEnabled") is True or p.get("KmsMasterKeyId")):
        return "queue without SSE (SqsManagedSseEnabled or KmsMasterKeyId)"
    if type_ == "AWS::DynamoDB::Table" and (p.get("SSESpecification") or {}).get("SSEEnabled") is not True:
        return "table without SSESpecification.SSEEnabled"
    if type_ == "AWS::SNS::Topic" and not p.get("KmsMasterKeyId"):
        return "topic without KmsMasterKeyId"
    if type_ == "AWS::Glue::Job" and not _glue_encrypted(stack, p):
        return "Glue job without a security configuration encrypting its S3 output"
    if type_ == "AWS::KMS::Key" and p.get("EnableKeyRotation") is not True:
        return "KMS key without EnableKeyRotation"
    return None


def check_encryption(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, resource in stack.resources.items():
            problem = _encryption_problem(stack, str(resource.get("Type")), props(resource))
            if problem:
                yield hit(stack, logical_id, problem)


def check_public_access(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        for logical_id, bucket in stack.of_type("AWS::S3::Bucket"):
            block = props(bucket).get("PublicAccessBlockConfiguration") or {}
            off = [flag for flag in _PUBLIC_ACCESS_FLAGS if block.get(flag) is not True]
            if off:
                yield hit(stack, logical_id, f"public access not blocked: {', '.join(off)} not true")


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = (statement.get("Condition") or {}).get("Bool") or {}
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def check_tls_only(build: Build) -> Iterator[Hit]:
    for stack in build.stacks():
        protected = {
            target(props(policy).get("Bucket"))
            for _, policy in stack.of_type("AWS::S3::BucketPolicy")
            if any(_denies_plain_http(s) for s in as_list(props(policy).get("PolicyDocument", {}).get("Statement")))
        }
        for logical_id, _ in stack.of_type("AWS::S3::Bucket"):
            if logical_id not in protected:
                yield hit(stack, logical_id, "no bucket policy denying aws:SecureTransport false (TLS only)")


RULES = (
    Rule(
        "SEC001",
        "encryption at rest: bucket SSE, queue SSE, table SSE, topic KMS key, Glue security configuration, "
        "key rotation",
        "docs/design.md 4.3, 12; docs/legacy-system.md tables (SSE on; the dedup table gains it)",
        check_encryption,
        per_template=True,
    ),
    Rule(
        "SEC002",
        "every bucket blocks all public access (4 flags)",
        "docs/design.md 4.3; "
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
        check_public_access,
        per_template=True,
    ),
    Rule(
        "SEC003",
        "every bucket has a policy denying requests without TLS",
        "docs/design.md 4.3; https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
        check_tls_only,
        per_template=True,
    ),
)
