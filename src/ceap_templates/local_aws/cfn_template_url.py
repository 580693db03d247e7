"""TemplateURL on the loopback endpoint (``aws cloudformation deploy --s3-bucket``).

moto 5.2.5 reads a ``TemplateURL`` as path-style only when the URL contains "localhost"; for
``http://127.0.0.1:4566/bucket/key`` (what the CLI builds from ``AWS_ENDPOINT_URL``) it takes "127"
as the bucket and answers NoSuchBucket. AWS accepts path-style URLs
(``https://s3.<region>.amazonaws.com/bucket/key``) and virtual-hosted ones. The patch reads every
loopback URL (127.0.0.0/8, localhost, ::1) as path-style and leaves the others to moto.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import unquote, urlparse


def is_loopback_url(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def apply() -> None:
    from moto.cloudformation import models, responses, utils
    from moto.s3.models import s3_backends

    original = utils.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        if not is_loopback_url(template_url):
            return original(template_url, account_id=account_id, partition=partition)
        bucket, _, key = urlparse(template_url).path.lstrip("/").partition("/")
        value: Any = s3_backends[account_id][partition].get_object(bucket, unquote(key))
        return str(value.value.decode("utf-8"))

    for module in (utils, models, responses):
        module.get_stack_from_s3_url = get_stack_from_s3_url  # type: ignore[attr-defined]
