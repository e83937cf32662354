"""Kubernetes API access for the operator's own writes, over the official ``kubernetes`` client.

Kopf watches and patches the SamuTenant itself; the children are written here. The official
client's typed APIs would need one method per kind; the operator handles a dozen kinds the same
way (get, create, merge-patch, delete), so this module builds the paths itself and lets the
official ``ApiClient`` do transport, authentication and TLS. Merge patches (not strategic) are
used everywhere: lists are replaced whole, the same in a real API server and in the emulator.

Sync on purpose: Kopf runs sync handlers in its thread pool, and the shared urllib3 pool is
thread-safe (``benchmarks/bench_onboard.py`` measures that it meets the 100-tenant goal).
The apply policy over this client (create-only, retained, drift) is ``kube.apply``.
"""

import json
import os
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from urllib3.util.retry import Retry

from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, PLURAL

#: Set by tests, the benchmark and the drill: the emulator's URL (plain http on loopback).
SERVER_ENV = "SAMU_OPERATOR_KUBE_URL"

#: kind -> (plural, namespaced) for every kind the operator writes or reads.
KINDS: dict[str, tuple[str, bool]] = {
    KIND: (PLURAL, False),
    "Namespace": ("namespaces", False),
    "Node": ("nodes", False),
    "Pod": ("pods", True),
    "Service": ("services", True),
    "ConfigMap": ("configmaps", True),
    "Secret": ("secrets", True),
    "ServiceAccount": ("serviceaccounts", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "ResourceQuota": ("resourcequotas", True),
    "LimitRange": ("limitranges", True),
    "StatefulSet": ("statefulsets", True),
    "NetworkPolicy": ("networkpolicies", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "RoleBinding": ("rolebindings", True),
    "Event": ("events", True),  # the edge sidecar's dropped-call Events (edge/publish.py)
}
TENANT_API = f"{API_GROUP}/{API_VERSION}"
#: (connect, read) seconds. An answer from the API server takes milliseconds; a request lost
#: on the way is better retried after seconds than waited for half a minute.
REQUEST_TIMEOUT = (5.0, 10.0)


class KubeError(Exception):
    """An API call failed: the status code and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Ref:
    """Where an object lives: apiVersion, kind, namespace (None if cluster-scoped), name."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> "Ref":
        meta = obj["metadata"]
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])

    def collection(self) -> str:
        plural, namespaced = KINDS[self.kind]
        base = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else f"/apis/{self.api_version}"
        )
        ns = f"/namespaces/{self.namespace}" if namespaced and self.namespace else ""
        return f"{base}{ns}/{plural}"

    def path(self, subresource: str | None = None) -> str:
        sub = f"/{subresource}" if subresource else ""
        return f"{self.collection()}/{self.name}{sub}"


#: urllib3's retry policy (backoff with jitter, Retry-After obeyed), for every method: the
#: operator's writes are idempotent (a create that did happen answers 409
#: on its retry, which ``kube.apply`` compares; a patch or delete repeats harmlessly), so a
#: write whose answer was lost in a reset connection is simply sent again.
RETRY = Retry(
    total=5,
    read=2,  # a read timeout costs REQUEST_TIMEOUT each time
    backoff_factor=0.05,
    backoff_max=2.0,
    backoff_jitter=0.05,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=None,
    respect_retry_after_header=True,
    raise_on_status=False,  # the last answer is returned: KubeError names its status
)


def make_api_client(server: str | None = None) -> client.ApiClient:
    """An ApiClient for ``server`` (the emulator), else in-cluster, else the local kubeconfig."""
    server = server or os.environ.get(SERVER_ENV)
    configuration = client.Configuration()
    if server:
        configuration.host = server.rstrip("/")
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    configuration.retries = RETRY
    return client.ApiClient(configuration)


class Kube:
    """get / list / create / merge-patch / delete of plain dicts (JSON as the API serves it)."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        response = self.api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
        data = response.read()
        if not 200 <= response.status < 300:
            try:
                message = json.loads(data).get("message", "")
            except ValueError:
                message = data.decode(errors="replace")[:200]
            raise KubeError(response.status, message)
        return json.loads(data) if data else {}

    def get(self, ref: Ref) -> dict[str, Any] | None:
        try:
            return self._call("GET", ref.path())
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, selector: str = ""
    ) -> list[dict[str, Any]]:
        ref = Ref(api_version, kind, namespace, "")
        query = {"labelSelector": selector} if selector else None
        return list(self._call("GET", ref.collection(), query=query).get("items", []))

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", Ref.of(obj).collection(), body=obj)

    def merge(
        self, ref: Ref, patch: dict[str, Any], subresource: str | None = None
    ) -> dict[str, Any]:
        return self._call(
            "PATCH", ref.path(subresource), body=patch, content_type="application/merge-patch+json"
        )

    def delete(self, ref: Ref) -> bool:
        """Delete; False when it was already gone."""
        try:
            self._call("DELETE", ref.path(), body={"propagationPolicy": "Background"})
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True


_shared: Kube | None = None
_lock = threading.Lock()


def shared() -> Kube:
    """The process's client, made on first use (the URL comes from SERVER_ENV or the cluster)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Kube(make_api_client())
        return _shared


def reset_shared() -> None:
    """Forget the shared client (tests point the next operator at another emulator)."""
    global _shared
    with _lock:
        _shared = None
