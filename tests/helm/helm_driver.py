"""Run Helm (its Go SDK, from the helm-python-sdk wheel) in a child process: lint or render.

Why a child process: the SDK loads Go's runtime into the Python process (signal handlers,
threads); keeping it out of the pytest process that also runs Kopf and asyncio tests avoids
any interference. Input on stdin, output on stdout, both JSON.

One JSON request per line on stdin, one JSON reply per line on stdout, until stdin closes
(one child serves a whole test session: loading the library costs more than a render).

Request:  {"action": "lint" | "render" | "package", "chart": PATH, "values": {...},
           "name": "samu", "namespace": "samu-system", "kube_version": "v1.29.0"}
Response: {"ok": true, "result": ...} or {"ok": false, "error": "...", "type": "..."}
"""

import json
import sys
from typing import Any


def run(request: dict[str, Any]) -> Any:
    import helm_python as helm

    values = request.get("values") or {}
    if request["action"] == "lint":
        return helm.lint(
            request["chart"],
            values,
            strict=True,
            namespace=request.get("namespace", "samu-system"),
            kube_version=request.get("kube_version"),
        )
    if request["action"] == "render":
        with helm.Chart.load(request["chart"]) as chart:
            chart.validate_schema(values)
            return {
                "manifests": chart.render(
                    values,
                    name=request.get("name", "samu"),
                    namespace=request.get("namespace", "samu-system"),
                    is_install=True,
                ),
                "crds": chart.crds,
                "files": [f["name"] for f in chart.files],
            }
    if request["action"] == "package":
        return helm.package(request["chart"], destination=request["destination"])
    if request["action"] == "version":
        return {"sdk": helm.helm_sdk_version(), "c": helm.helm_c_version()}
    raise ValueError(f"unknown action {request['action']!r}")


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = {"ok": True, "result": run(json.loads(line))}
        except Exception as exc:  # the parent asserts on the message
            reply = {"ok": False, "error": str(exc), "type": type(exc).__name__}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
