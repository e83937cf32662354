"""The recording store: a tenant's Swift container, through python-swiftclient.

Credentials come from the environment, as the Secret ``samu-recordings-store`` provides them
(``OS_AUTH_URL``, ``OS_AUTH_TYPE=v3applicationcredential``, ``OS_APPLICATION_CREDENTIAL_ID``,
``OS_APPLICATION_CREDENTIAL_SECRET``, ``OS_REGION_NAME``) or, on a test bench, tempauth's
``ST_AUTH``/``ST_USER``/``ST_KEY``. Every upload carries the MD5 of its bytes as ``ETag``: Swift
refuses (422) bytes that arrived different, so an upload that returns has landed intact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from swiftclient.client import ClientException, Connection

from samu_recordings.core.naming import container_name


class StoreConfigError(ValueError):
    """The store credentials in the environment are missing or incomplete."""


class StoreError(RuntimeError):
    """The store did not take or give an object (unreachable, refused, missing)."""


#: Swift's bulk middleware takes at most this many objects per request (its default).
BULK_LIMIT = 10000
APP_CREDENTIAL = ("OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_SECRET")


@dataclass
class Store:
    connection: Connection
    storage_policy: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], timeout: float = 10.0) -> Store:
        """Builds the client from ``env``; a clear error names any missing variable."""
        policy = env.get("SAMU_RECORDINGS_STORAGE_POLICY") or None
        if env.get("ST_AUTH"):
            missing = [k for k in ("ST_USER", "ST_KEY") if not env.get(k)]
            if missing:
                raise StoreConfigError(
                    f"{', '.join(missing)}: unset; ST_AUTH needs ST_USER and ST_KEY"
                )
            conn = Connection(
                authurl=env["ST_AUTH"], user=env["ST_USER"], key=env["ST_KEY"],
                retries=0, timeout=timeout,
            )  # fmt: skip
            return cls(conn, policy)
        if env.get("OS_AUTH_URL"):
            missing = [k for k in APP_CREDENTIAL if not env.get(k)]
            if missing:
                raise StoreConfigError(
                    f"{', '.join(missing)}: unset; mount the samu-recordings-store Secret as env"
                )
            options = {
                "auth_type": env.get("OS_AUTH_TYPE", "v3applicationcredential"),
                "application_credential_id": env[APP_CREDENTIAL[0]],
                "application_credential_secret": env[APP_CREDENTIAL[1]],
                "region_name": env.get("OS_REGION_NAME"),
            }
            conn = Connection(
                authurl=env["OS_AUTH_URL"], auth_version="3", os_options=options,
                retries=0, timeout=timeout,
            )  # fmt: skip
            return cls(conn, policy)
        raise StoreConfigError(
            "OS_AUTH_URL: unset; no store credentials (mount the samu-recordings-store Secret, "
            "or set ST_AUTH, ST_USER and ST_KEY)"
        )

    def ensure_container(self, tenant: str | None = None, name: str | None = None) -> str:
        name = name or container_name(tenant or "")
        headers = {"X-Storage-Policy": self.storage_policy} if self.storage_policy else {}
        self._call("create container", name, self.connection.put_container, name, headers=headers)
        return name

    def put(
        self, container: str, name: str, data: bytes, delete_after: int | None = None,
        content_type: str = "application/octet-stream",
    ) -> str:  # fmt: skip
        """Uploads ``data``; returns only once Swift confirmed the bytes (ETag checked)."""
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        headers = {"X-Delete-After": str(delete_after)} if delete_after else {}
        got = self._call(
            "upload", f"{container}/{name}", self.connection.put_object, container, name, data,
            etag=etag, content_type=content_type, headers=headers,
        )  # fmt: skip
        if got != etag:
            raise StoreError(f"upload {container}/{name}: store answered ETag {got}, sent {etag}")
        return etag

    def copy(self, container: str, name: str, to_container: str, delete_after: int | None) -> None:
        """Server-side copy (the bytes do not come back through the shipper)."""
        headers = {"X-Delete-After": str(delete_after)} if delete_after else {}
        self._call(
            "copy", f"{container}/{name}", self.connection.copy_object, container, name,
            destination=f"/{to_container}/{name}", headers=headers,
        )  # fmt: skip

    def delete(self, container: str, name: str) -> None:
        try:
            self.connection.delete_object(container, name)
        except ClientException as err:
            if err.http_status != 404:
                raise StoreError(f"delete {container}/{name}: {_reason(err)}") from err
        except OSError as err:
            raise StoreError(f"delete {container}/{name}: store unreachable ({err})") from err

    def delete_many(self, container: str, names: list[str]) -> None:
        """Deletes ``names`` with Swift's bulk-delete (one request for up to 10,000 objects),
        or one by one when the cluster has no bulk middleware."""
        for start in range(0, len(names), BULK_LIMIT):
            part = names[start : start + BULK_LIMIT]
            body = "\n".join(quote(f"/{container}/{n}") for n in part).encode()
            headers = {"Accept": "application/json", "Content-Type": "text/plain"}
            try:
                _headers, reply = self.connection.post_account(
                    headers, query_string="bulk-delete", data=body
                )
                result = json.loads(reply or b"{}")
            except (ClientException, ValueError):
                result = {}
            except OSError as err:
                raise StoreError(f"delete {container}/...: store unreachable ({err})") from err
            if str(result.get("Response Status", "")).startswith("200") and not result.get(
                "Errors"
            ):
                continue
            for name in part:  # no bulk middleware, or some failed: the plain way
                self.delete(container, name)

    def get(self, container: str, name: str) -> bytes:
        return self._call(
            "download", f"{container}/{name}", self.connection.get_object, container, name
        )[1]

    def head(self, container: str, name: str) -> dict[str, str]:
        return self._call(
            "head", f"{container}/{name}", self.connection.head_object, container, name
        )

    def exists(self, container: str, name: str) -> bool:
        try:
            self.connection.head_object(container, name)
        except ClientException as err:
            if err.http_status == 404:
                return False
            raise StoreError(f"head {container}/{name}: {_reason(err)}") from err
        except OSError as err:
            raise StoreError(f"head {container}/{name}: {err}") from err
        return True

    def list(self, container: str, prefix: str, delimiter: str | None = None) -> list[str]:
        """Every object name (or sub-prefix with a delimiter) under ``prefix``."""
        _headers, items = self._call(
            "list", f"{container}/{prefix}", self.connection.get_container, container,
            prefix=prefix, delimiter=delimiter, full_listing=True,
        )  # fmt: skip
        return [item.get("name") or item["subdir"] for item in items]

    def _call(
        self, what: str, target: str, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return func(*args, **kwargs)
        except ClientException as err:
            raise StoreError(f"{what} {target}: {_reason(err)}") from err
        except OSError as err:
            raise StoreError(f"{what} {target}: store unreachable ({err})") from err


def _reason(err: ClientException) -> str:
    if err.http_status:
        return f"{err.http_status} {err.http_reason or ''}".strip()
    return str(err.msg or err)
