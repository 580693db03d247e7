"""Mutations of a real build: Encryption and public access (SEC rules)."""

from __future__ import annotations

from hypothesis import strategies as st

from .draft import (
    Draft,
    Mutation,
    Site,
    _location,
    drop_resource,
    props_of,
    sites,
)

# ---- SEC / OPS / DATA -----------------------------------------------------------------------
ENCRYPTION = {
    "AWS::S3::Bucket": "BucketEncryption",
    "AWS::SQS::Queue": "SqsManagedSseEnabled",
    "AWS::DynamoDB::Table": "SSESpecification",
    "AWS::SNS::Topic": "KmsMasterKeyId",
    "AWS::Glue::Job": "SecurityConfiguration",
    "AWS::KMS::Key": "EnableKeyRotation",
}


def remove_encryption(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    for _, resource in draft.resources(site):
        del props_of(resource)[ENCRYPTION[resource["Type"]]]
    return {_location(draft, k) for k in draft.holders(site)}


def public_bucket(draft: Draft, site: Site, data: st.DataObject) -> set[str]:
    flag = data.draw(
        st.sampled_from(["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"])
    )
    for _, resource in draft.resources(site):
        props_of(resource)["PublicAccessBlockConfiguration"][flag] = False
    return {_location(draft, k) for k in draft.holders(site)}


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("remove encryption", "SEC001", lambda e: sites(e, *ENCRYPTION), remove_encryption),
    Mutation("unblock public access", "SEC002", lambda e: sites(e, "AWS::S3::Bucket"), public_bucket),
    Mutation("drop the TLS-only bucket policy", "SEC003", lambda e: sites(e, "AWS::S3::BucketPolicy"), drop_resource),
)
