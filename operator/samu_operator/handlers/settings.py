"""Operator-wide Kopf settings: where the API server is, where Kopf keeps its state, metrics.

``SAMU_OPERATOR_KUBE_URL`` points the operator at an API server by URL (the emulator in tests,
the benchmark and the drill); without it Kopf logs in like the kubernetes client does
(in-cluster service account, else the local kubeconfig).
"""

import logging
import os
import random
from typing import Any

import kopf

from samu_operator import kube, metrics
from samu_operator.core import labels as lbl
from samu_operator.core import pbx_contract

WORKERS_ENV = "SAMU_OPERATOR_WORKERS"
#: Seconds without any event (bookmarks included) after which a watch stream is taken for
#: dead and reconnected: a watch that dies quietly would otherwise hide a failing PBX.
WATCH_INACTIVITY_ENV = "SAMU_OPERATOR_WATCH_INACTIVITY_SECONDS"
#: Kopf's own API requests (its patches, lists, Events): retried after these seconds,
#: each stretched by a random jitter so that replicas and tenants do not retry in step.
ERROR_BACKOFFS = (0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)


def jittered(backoffs: tuple[float, ...], rng: random.Random) -> list[float]:
    """Each backoff times a random factor in [0.5, 1.5)."""
    return [round(b * (0.5 + rng.random()), 3) for b in backoffs]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # The cluster's pod networks (the PBX's identify of the edge): a bad value stops the
    # operator at start, naming the variable, before any PBX config is rendered with it.
    try:
        pbx_contract.pod_cidrs(os.environ.get(pbx_contract.POD_CIDRS_ENV))
    except ValueError as exc:
        raise kopf.PermanentError(str(exc)) from None
    settings.persistence.finalizer = f"{lbl.GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=lbl.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=lbl.GROUP, key="last-handled-configuration"
    )
    # Events for warnings and our own explicit ones, not one per handler success.
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = int(os.environ.get(WORKERS_ENV, "16"))
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.inactivity_timeout = float(os.environ.get(WATCH_INACTIVITY_ENV, "15"))
    settings.networking.request_timeout = 30
    settings.networking.error_backoffs = jittered(ERROR_BACKOFFS, random.Random())
    metrics.serve()


@kopf.on.login(retries=3)
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    server = os.environ.get(kube.SERVER_ENV)
    if server:
        return kopf.ConnectionInfo(server=server.rstrip("/"), default_namespace="default")
    return kopf.login_via_client(**kwargs)
