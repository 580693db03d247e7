"""The seam between S3 objects and the paths Spark reads and writes.

The job always does the same things: ask the store for paths Spark can read the input objects
from (the input object, then a manifest's parts), let Spark write its output to a scratch path
from the store, ask the store to publish the one file in each of Spark's output directories as
one object (a part), and have it put the small objects (``parts.json``, the manifest). Three
stores implement that:

``NativeS3Store`` (on Glue)
    Spark reads ``s3://`` itself; the scratch directory is under the job's temp prefix
    (``--TempDir``, else ``s3://<output bucket>/glue-temp/``); each file is copied server-side
    to its key and the scratch objects are deleted. No candidate passes through the driver.
``StagedS3Store`` (local, any S3 endpoint boto3 reaches, e.g. moto via ``AWS_ENDPOINT_URL``)
    Spark here cannot read ``s3://`` (no hadoop-aws jars), so boto3 downloads the input objects
    to a local work directory, Spark reads and writes ``file://`` paths, and boto3 uploads each
    file to its key.
``LocalDirStore`` (local, no S3 at all)
    Bucket ``b`` and key ``k`` are the file ``<root>/b/k``; Spark reads it directly and each file
    is moved into place.

Every store checks that each input exists first and names its ``s3://`` path when it does not;
an output object appears only in :meth:`publish` or :meth:`put_bytes`, in one step, after Spark
has finished.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from botocore.exceptions import ClientError

from ceap_glue.errors import InputError, OutputError

LOG = logging.getLogger("ceap_glue.storage")

#: Spark names its data files ``part-<n>-<uuid>...``; markers (_SUCCESS) and checksums (.crc) are not data.
_PART_PREFIX = "part-"
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_DENIED = {"403", "AccessDenied", "AllAccessDisabled", "InvalidObjectState"}
#: Concurrent S3 requests for the per-part HEADs, downloads, copies and uploads (one part each).
S3_CONCURRENCY = 8
JSON_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "binary/octet-stream"

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class S3Location:
    """An object in S3, by bucket and key."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        """``s3://bucket/key``, the form every message uses."""
        return f"s3://{self.bucket}/{self.key}"


class ObjectStore(Protocol):
    """What the job needs from storage; see the module docstring for the implementations."""

    def readable_path(self, location: S3Location) -> str:
        """A path Spark can read ``location`` from; raises ``InputError`` if it cannot be read."""
        ...

    def readable_paths(self, locations: Sequence[S3Location]) -> list[str]:
        """:meth:`readable_path` of each location, in order (the first unreadable one raises)."""
        ...

    def scratch_path(self) -> str:
        """A fresh, not yet existing directory path for Spark to write into."""
        ...

    def publish(self, scratch: str, targets: Mapping[str, S3Location], content_type: str = BINARY_CONTENT_TYPE) -> None:
        """Make the one part file in each subdirectory ``name`` of ``scratch`` the object ``targets[name]``.

        ``""`` names ``scratch`` itself. Every directory is checked before the first object is
        made (a directory with no or several part files raises ``OutputError`` and publishes
        nothing); returns when every object is in place.
        """
        ...

    def put_bytes(self, location: S3Location, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> None:
        """Write a small object (a manifest, the part list, an empty part) in one request."""
        ...

    def close(self) -> None:
        """Remove whatever the store staged (also after a failure)."""
        ...


def single_part_file(names: list[str], where: str) -> str:
    """Pick the only Spark part file among ``names`` (paths or keys).

    Raises
    ------
    OutputError
        Zero or several part files: the output object would not be exactly that file.
    """
    parts = sorted(n for n in names if posixpath.basename(n).startswith(_PART_PREFIX) and not n.endswith(".crc"))
    if len(parts) != 1:
        raise OutputError(f"expected exactly one part file under {where}, found {len(parts)}: {parts[:5]}")
    return parts[0]


def part_files(names: list[str], root: str, directories: Sequence[str]) -> dict[str, str]:
    """The one part file in each directory ``root/<directory>`` among ``names`` (paths or keys).

    Raises
    ------
    OutputError
        A directory holds zero or several part files.
    """
    by_parent: dict[str, list[str]] = {}
    for name in names:
        by_parent.setdefault(posixpath.dirname(name), []).append(name)
    chosen = {}
    for directory in directories:
        parent = posixpath.join(root.rstrip("/"), directory) if directory else root.rstrip("/")
        chosen[directory] = single_part_file(by_parent.get(parent, []), parent)
    return chosen


def _in_order(function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    # map() yields in input order and re-raises the first failure in that order, so a message
    # names the first missing part of the manifest, whatever finished first.
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=S3_CONCURRENCY) as pool:
        return list(pool.map(function, items))


def _client_error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _input_error(error: ClientError, location: S3Location) -> Exception:
    code = _client_error_code(error)
    if code in _NOT_FOUND:
        return InputError(f"input object {location.uri} does not exist")
    if code in _DENIED:
        # Without s3:ListBucket on the key, S3 answers a missing object with 403, not 404.
        return InputError(f"input object {location.uri} does not exist or access to it is denied ({code})")
    # Throttling, 5xx, timeouts: transient, let it propagate so Step Functions retries.
    return error


class NativeS3Store:
    """Spark reads and writes ``s3://`` itself (Glue); boto3 only checks, copies and cleans up.

    Parameters
    ----------
    s3
        A boto3 S3 client.
    temp_uri
        ``s3://bucket/prefix/`` under which the job may write scratch objects.
    """

    def __init__(self, s3: Any, temp_uri: str) -> None:
        self._s3 = s3
        self._temp_uri = temp_uri.rstrip("/") + "/"
        self._scratch: list[str] = []

    def readable_path(self, location: S3Location) -> str:
        try:
            self._s3.head_object(Bucket=location.bucket, Key=location.key)
        except ClientError as error:
            raise _input_error(error, location) from None
        return location.uri

    def readable_paths(self, locations: Sequence[S3Location]) -> list[str]:
        return _in_order(self.readable_path, locations)

    def scratch_path(self) -> str:
        path = f"{self._temp_uri}ceap-heavy-etl/{uuid.uuid4().hex}/"
        self._scratch.append(path)
        return path

    def publish(self, scratch: str, targets: Mapping[str, S3Location], content_type: str = BINARY_CONTENT_TYPE) -> None:
        bucket, prefix = _split_s3_uri(scratch)
        sources = part_files(self._list_keys(bucket, prefix), prefix, list(targets))
        extra = {"ContentType": content_type, "MetadataDirective": "REPLACE"}

        def copy(directory: str) -> None:
            target = targets[directory]
            # Managed copy: server-side, multipart above 8 MB (copy_object stops at 5 GB).
            self._s3.copy({"Bucket": bucket, "Key": sources[directory]}, target.bucket, target.key, ExtraArgs=extra)

        _in_order(copy, list(targets))

    def put_bytes(self, location: S3Location, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> None:
        self._s3.put_object(Bucket=location.bucket, Key=location.key, Body=body, ContentType=content_type)

    def close(self) -> None:
        # By now the output is published (or the run failed anyway): leftover scratch objects
        # are worth a warning, not a failed run that Step Functions would retry.
        for scratch in self._scratch:
            bucket, prefix = _split_s3_uri(scratch)
            try:
                keys = self._list_keys(bucket, prefix)
                for start in range(0, len(keys), 1000):
                    batch = [{"Key": key} for key in keys[start : start + 1000]]
                    answer = self._s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                    if answer.get("Errors"):
                        LOG.warning("could not remove scratch objects under %s: %s", scratch, answer["Errors"][:3])
            except ClientError as error:
                LOG.warning("could not remove scratch objects under %s: %s", scratch, error)
        self._scratch.clear()

    def _list_keys(self, bucket: str, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        return [
            obj["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", [])
        ]


def _file_uri(path: Path) -> str:
    # Not Path.as_uri(): Hadoop re-escapes what it parses, so a percent-encoded space would end
    # up as a literal "%20" directory. Hadoop accepts the plain absolute path after file://.
    return "file://" + str(path.resolve())


def _local_path(uri: str) -> Path:
    return Path(uri.removeprefix("file://"))


def _files_under(directory: Path) -> list[str]:
    return [str(p) for p in directory.rglob("*") if p.is_file()]


def _split_s3_uri(uri: str) -> tuple[str, str]:
    without_scheme = uri.split("://", 1)[1]
    bucket, _, prefix = without_scheme.partition("/")
    return bucket, prefix


class StagedS3Store:
    """Objects move through boto3 and a local work directory; Spark sees only ``file://`` paths.

    Parameters
    ----------
    s3
        A boto3 S3 client (honours ``AWS_ENDPOINT_URL``, so it can be a local emulator).
    workdir
        Parent of the work directory; the system temp directory by default.
    """

    def __init__(self, s3: Any, workdir: Path | None = None) -> None:
        self._s3 = s3
        self._root = Path(tempfile.mkdtemp(prefix="ceap-heavy-etl-", dir=workdir))

    def readable_path(self, location: S3Location) -> str:
        name = posixpath.basename(location.key) or "input.json"
        target = self._root / "input" / uuid.uuid4().hex / name
        target.parent.mkdir(parents=True)
        try:
            self._s3.download_file(location.bucket, location.key, str(target))
        except ClientError as error:
            raise _input_error(error, location) from None
        return _file_uri(target)

    def readable_paths(self, locations: Sequence[S3Location]) -> list[str]:
        return _in_order(self.readable_path, locations)

    def scratch_path(self) -> str:
        return _file_uri(self._root / "output" / uuid.uuid4().hex)

    def publish(self, scratch: str, targets: Mapping[str, S3Location], content_type: str = BINARY_CONTENT_TYPE) -> None:
        directory = _local_path(scratch)
        sources = part_files(_files_under(directory), str(directory), list(targets))
        extra = {"ContentType": content_type}

        def upload(name: str) -> None:
            self._s3.upload_file(sources[name], targets[name].bucket, targets[name].key, ExtraArgs=extra)

        _in_order(upload, list(targets))

    def put_bytes(self, location: S3Location, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> None:
        self._s3.put_object(Bucket=location.bucket, Key=location.key, Body=body, ContentType=content_type)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)


class LocalDirStore:
    """Buckets are directories under ``root``: the object ``s3://b/k`` is the file ``root/b/k``.

    For running the job on a file without any S3 (see glue/README.md).
    """

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._work = Path(tempfile.mkdtemp(prefix=".ceap-heavy-etl-", dir=self._root))

    def file_of(self, location: S3Location) -> Path:
        """The local file standing for ``location``."""
        return self._root / location.bucket / location.key

    def readable_path(self, location: S3Location) -> str:
        path = self.file_of(location)
        if not path.is_file():
            raise InputError(f"input object {location.uri} does not exist (looked for {path})")
        return _file_uri(path)

    def readable_paths(self, locations: Sequence[S3Location]) -> list[str]:
        return [self.readable_path(location) for location in locations]

    def scratch_path(self) -> str:
        return _file_uri(self._work / uuid.uuid4().hex)

    def publish(self, scratch: str, targets: Mapping[str, S3Location], content_type: str = BINARY_CONTENT_TYPE) -> None:
        directory = _local_path(scratch)
        sources = part_files(_files_under(directory), str(directory), list(targets))
        for name, location in targets.items():
            target = self.file_of(location)
            target.parent.mkdir(parents=True, exist_ok=True)
            # Same file system (the work dir is under root), so the object appears in one rename.
            Path(sources[name]).replace(target)

    def put_bytes(self, location: S3Location, body: bytes, content_type: str = JSON_CONTENT_TYPE) -> None:
        staged = self._work / f"{uuid.uuid4().hex}.tmp"
        staged.write_bytes(body)
        target = self.file_of(location)
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(target)

    def close(self) -> None:
        shutil.rmtree(self._work, ignore_errors=True)
