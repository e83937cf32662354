"""kmock's Kubernetes emulator, completed with what Kopf and this operator need.

kmock 0.8's ``KubernetesEmulator`` keeps objects in memory and serves list/watch/get/create/
patch/delete, but sets no ``resourceVersion``/``uid``/``generation``, ignores ``generateName``
and label selectors, and looks objects up by scanning them all. Kopf 1.45 tests
``resourceVersion`` in its finalizer JSON patches, so this subclass stamps those fields,
filters by label selector, answers a failed JSON-patch ``test`` with 422 like the API server,
cascades a Namespace's deletion to its objects, and looks objects up by key.
It overrides kmock internals: kmock is pinned exactly in pyproject.toml for that reason.

Not emulated (see the onboarding note): admission (Pod Security, quotas), the garbage
collector (the operator deletes its children itself), controllers (``kubelet.py`` plays the
StatefulSet controller and the kubelet), server-side defaults, field selectors, PUT.
"""

import contextvars
import datetime
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import Any

import attrs
import jsonpatch
from kmock import KubernetesEmulator, KubernetesError, ResourceInfo, resource
from kmock._internal import dicts, enums, k8s_dicts, parsing, rendering

from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, PLURAL
from samu_operator.sim.faults import Faults
from samu_operator.sim.faulty import FaultyApi
from samu_operator.sim.selectors import parse_selector, selector_matches

VERBS = {"get", "list", "watch", "create", "patch", "update", "delete"}

#: (group/version/plural, kind, namespaced, subresources): what the operator and Kopf use.
RESOURCES: tuple[tuple[str, str, bool, set[str]], ...] = (
    (f"{API_GROUP}/{API_VERSION}/{PLURAL}", KIND, False, {"status"}),
    ("v1/namespaces", "Namespace", False, set()),
    ("v1/nodes", "Node", False, {"status"}),
    ("v1/pods", "Pod", True, {"status"}),
    ("v1/services", "Service", True, set()),
    ("v1/configmaps", "ConfigMap", True, set()),
    ("v1/secrets", "Secret", True, set()),
    ("v1/serviceaccounts", "ServiceAccount", True, set()),
    ("v1/persistentvolumeclaims", "PersistentVolumeClaim", True, set()),
    ("v1/resourcequotas", "ResourceQuota", True, set()),
    ("v1/limitranges", "LimitRange", True, set()),
    ("v1/events", "Event", True, set()),
    ("apps/v1/statefulsets", "StatefulSet", True, {"status"}),
    ("networking.k8s.io/v1/networkpolicies", "NetworkPolicy", True, set()),
    ("policy/v1/poddisruptionbudgets", "PodDisruptionBudget", True, set()),
    ("rbac.authorization.k8s.io/v1/rolebindings", "RoleBinding", True, set()),
    ("events.k8s.io/v1/events", "Event", True, set()),
    ("coordination.k8s.io/v1/leases", "Lease", True, set()),
    ("kopf.dev/v1/clusterkopfpeerings", "ClusterKopfPeering", False, set()),
    ("kopf.dev/v1/kopfpeerings", "KopfPeering", True, set()),
)


#: The request the current task serves (see SamuEmulator.__iter__).
_serving: contextvars.ContextVar[rendering.Request] = contextvars.ContextVar("serving")

_kmock_parse_path = parsing.parse_path


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock reads ``/api/v1/namespaces[/NAME]`` as a namespace prefix without a resource and
    fails; parse the Namespace resource's own paths here, the rest as kmock does."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (
        len(parts) <= 4 or (len(parts) == 5 and parts[4] in ("status", "finalize"))
    ):
        name = parts[3] if len(parts) > 3 else None
        sub = parts[4] if len(parts) > 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name, sub)
    return _kmock_parse_path(path)


# kmock's request parser looks this function up at call time (pinned kmock==0.8).
parsing.parse_path = _parse_path


def now_rfc3339() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define(kw_only=True)
class SamuEmulator(FaultyApi, KubernetesEmulator):
    """The emulated API server of the tests, the benchmark and the drill (one per loop)."""

    _versions: Iterable[int] = attrs.field(factory=lambda: itertools.count(1), init=False)
    _last_version: int = attrs.field(default=0, init=False)
    #: What to inject (``sim.faults``); set before or while serving. Nothing by default.
    faults: Faults = attrs.field(factory=Faults)
    #: A BOOKMARK on a watch stream after this many seconds without events, as the API
    #: server sends them (every minute or so) to clients that allow them; None: never.
    bookmark_seconds: float | None = None
    _silenced: int = attrs.field(default=0, init=False)  # see silence_watches()

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for key, kind, namespaced, subresources in RESOURCES:
            self.resources[key] = ResourceInfo(
                kind=kind,
                singular=kind.lower(),
                namespaced=namespaced,
                verbs=VERBS,
                subresources=subresources,
            )

    # --- what the API server does that kmock does not -------------------------------------

    def _next_version(self) -> str:
        self._last_version = next(self._versions)  # type: ignore[call-overload]
        return str(self._last_version)

    def _stamp_new(self, body: dict[str, Any], namespace: str | None) -> None:
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if namespace and not meta.get("namespace"):
            meta["namespace"] = namespace
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = self._next_version()
        meta["generation"] = 1
        meta["creationTimestamp"] = now_rfc3339()

    def _stamp_patch(self, request: rendering.Request, old: Mapping[str, Any]) -> None:
        version = self._next_version()
        data = request.data
        generation = (old.get("metadata") or {}).get("generation") or 1
        if isinstance(data, list):
            touches_spec = any(str(op.get("path", "")).startswith("/spec") for op in data)
            data.append({"op": "add", "path": "/metadata/resourceVersion", "value": version})
            if touches_spec and request.subresource is None:
                data.append({"op": "add", "path": "/metadata/generation", "value": generation + 1})
        elif isinstance(data, dict):
            meta = data.get("metadata")
            if not isinstance(meta, dict):
                meta = data["metadata"] = {}
            meta["resourceVersion"] = version
            if request.subresource is None and "spec" in data:
                new_spec = dicts.patch_dict({"spec": old.get("spec") or {}}, {"spec": data["spec"]})
                if new_spec.get("spec") != old.get("spec"):
                    meta["generation"] = generation + 1

    def _stored(self, request: rendering.Request) -> k8s_dicts.Object | None:
        key = (request.resource, request.namespace, request.name)
        raw = self._objects._objects  # the dict behind kmock's ObjectsArray
        obj = raw.get(key)
        return None if obj is None or obj.deleted else obj

    def __iter__(self) -> Iterator[rendering.Request]:
        """Only the request being served by the current task. kmock matches a request against
        its reactions by scanning every request it ever recorded (quadratic: minutes for 100
        tenants); the full log stays in ``requests_log``. (kmock's request views and slices,
        unused here, see only the current request.)"""
        request = _serving.get(None)
        if request is not None:
            yield request

    @property
    def requests_log(self) -> list[rendering.Request]:
        """Every request received, oldest first (what ``api_calls`` summarises)."""
        return list(self._requests)

    async def _handle(self, request: rendering.Request) -> Any:
        token = _serving.set(request)  # aiohttp serves each request in its own task
        try:
            fault = None
            if request.resource is not None and request.action != enums.action.WATCH:
                method = str(request.method.value).upper()
                fault = self.faults.request_fault(method, request.url.path)
            if fault is None:
                return await self._handle_in_flight(request)
            return await self._faulty(fault, request)
        finally:
            _serving.reset(token)

    async def _handle_in_flight(self, request: rendering.Request) -> Any:
        if request.resource is not None:
            async with self._lock:
                await self._before(request)
        try:
            response = await super()._handle(request)
        except jsonpatch.JsonPatchException as exc:
            raise KubernetesError(status=422, reason="Invalid", message=str(exc)) from exc
        if request.action == enums.action.DELETE and request.resource == resource("v1/namespaces"):
            await self._cascade(request.name)
        return response

    async def _before(self, request: rendering.Request) -> None:
        if request.action == enums.action.CREATE and isinstance(request.data, dict):
            self._stamp_new(request.data, request.namespace)
        elif request.action == enums.action.UPDATE and request.name is not None:
            obj = self._stored(request)
            if obj is not None:
                self._stamp_patch(request, obj.raw)
        elif request.action == enums.action.DELETE and request.name is not None:
            obj = self._stored(request)
            meta = obj.get("metadata", {}) if obj is not None else {}
            if obj is not None and meta.get("finalizers") and not meta.get("deletionTimestamp"):
                # Mark it ourselves so that the MODIFIED event carries a new resourceVersion.
                obj.patch({"metadata": {"deletionTimestamp": now_rfc3339()}})
                obj.patch({"metadata": {"resourceVersion": self._next_version()}})
                await self._buses[request.resource].put({"type": "MODIFIED", "object": obj.raw})

    async def _cascade(self, namespace: str | None) -> None:
        """Deleting a Namespace deletes what it holds (the namespace controller's job)."""
        async with self._lock:
            for (res, ns, _), obj in list(self._objects.items()):
                if ns == namespace and not obj.deleted:
                    raw = obj.raw
                    obj.delete()
                    await self._buses[res].put({"type": "DELETED", "object": raw})

    # kmock scans every object on each request; a direct lookup keeps 100 tenants fast.
    def _KubernetesEmulator__get_objs(
        self, request: rendering.Request, strict: bool
    ) -> list[k8s_dicts.Object]:
        if request.name is not None and strict:
            obj = self._objects._objects.get((request.resource, request.namespace, request.name))
            return [obj] if obj is not None else []
        return [
            obj
            for (res, ns, name), obj in self._objects.items()
            if res == request.resource
            and (request.namespace is None or ns == request.namespace)
            and (request.name is None or name == request.name)
        ]

    async def _serve_list(self, request: rendering.Request) -> Any:
        payload = await super()._serve_list(request)
        terms = parse_selector(request.params.get("labelSelector", ""))
        if terms:
            payload["items"] = [o for o in payload["items"] if selector_matches(o, terms)]
        payload["metadata"]["resourceVersion"] = str(self._last_version)
        return payload

    async def _watch_events(self, request: rendering.Request) -> AsyncIterator[Any]:
        """Filtered by label selector; a watch from a list's resourceVersion does not replay
        what the list already returned (kmock re-sends every object as ADDED: Kopf would then
        act on a stale copy and its finalizer patch would fail its resourceVersion test)."""
        terms = parse_selector(request.params.get("labelSelector", ""))
        since = request.params.get("resourceVersion", "")
        since_version = int(since) if since.isdigit() else 0
        async for event in KubernetesEmulator._serve_watch(self, request):
            if not isinstance(event, dict):
                yield event
                continue
            obj = event.get("object") or {}
            if terms and not selector_matches(obj, terms):
                continue
            version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
            stale = version.isdigit() and int(version) <= since_version
            if event.get("type") == "ADDED" and stale:
                continue
            yield event

    # --- in-process writes for the simulated kubelet and tests (not recorded as requests) ---

    def read(self, key: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The current object, or None (a copy is not made: do not mutate it)."""
        obj = self._objects._objects.get((resource(key), namespace, name))
        return None if obj is None or obj.deleted else obj.raw

    def objects_of(self, key: str, namespace: str | None = None) -> list[dict[str, Any]]:
        res = resource(key)
        return [
            obj.raw
            for (r, ns, _), obj in self._objects.items()
            if r == res and not obj.deleted and (namespace is None or ns == namespace)
        ]

    async def put(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create an object as the API server would (stamped, ADDED event)."""
        res, meta = resource(key), body.setdefault("metadata", {})
        self._stamp_new(body, meta.get("namespace"))
        async with self._lock:
            okey = (res, meta.get("namespace"), meta["name"])
            if okey in self._objects and not self._objects[okey].deleted:
                raise KubernetesError(status=409, reason="AlreadyExists")
            if okey in self._objects:
                self._objects[okey].create(body)
            else:
                self._objects[okey] = body
            raw = self._objects[okey].raw
            await self._buses[res].put({"type": "ADDED", "object": raw})
            return raw

    async def merge(
        self, key: str, namespace: str | None, name: str, patch: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Merge-patch an object (None removes a key); returns it, or None if it is gone."""
        res = resource(key)
        async with self._lock:
            obj = self._objects._objects.get((res, namespace, name))
            if obj is None or obj.deleted:
                return None
            patch = dict(patch)
            patch["metadata"] = dict(patch.get("metadata") or {})
            patch["metadata"]["resourceVersion"] = self._next_version()
            obj.patch(patch)
            raw = obj.raw
            await self._buses[res].put({"type": "MODIFIED", "object": raw})
            return raw

    async def kubectl_delete(self, key: str, namespace: str | None, name: str) -> bool:
        """Delete as ``kubectl delete`` does: an object with finalizers only gets its
        deletionTimestamp (the operator finishes the job); others go at once."""
        res = resource(key)
        obj = self._objects._objects.get((res, namespace, name))
        if obj is None or obj.deleted:
            return False
        meta = obj.get("metadata", {})
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                await self.merge(
                    key, namespace, name, {"metadata": {"deletionTimestamp": now_rfc3339()}}
                )
            return True
        return await self.remove(key, namespace, name)

    async def remove(self, key: str, namespace: str | None, name: str) -> bool:
        """Delete an object at once (no finalizers honoured: as a node dying takes its pods)."""
        res = resource(key)
        async with self._lock:
            obj = self._objects._objects.get((res, namespace, name))
            if obj is None or obj.deleted:
                return False
            raw = obj.raw
            obj.delete()
            await self._buses[res].put({"type": "DELETED", "object": raw})
            return True

    # --- what the operator asked for (the helm chart derives its RBAC from this) ---------

    def api_calls(self) -> Counter[tuple[str, str, str]]:
        """(verb, group/version/plural[/subresource], 'cluster'|'namespaced') of every request."""
        calls: Counter[tuple[str, str, str]] = Counter()
        for request in self.requests_log:
            if (
                request.resource is None
                or request.action is None
                or request.resource.plural is None
            ):
                continue
            res = request.resource
            path = f"{res.group}/{res.version}/{res.plural}".lstrip("/")
            if request.subresource:
                path += f"/{request.subresource}"
            action = request.action.value.lower()
            verb = {"fetch": "get", "update": "patch"}.get(action, action)
            calls[(verb, path, "namespaced" if request.namespace else "cluster")] += 1
        return calls
