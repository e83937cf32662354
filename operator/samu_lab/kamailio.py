"""Kamailio with the edge chart's configuration on 127.0.0.1, with the lab's ports and files."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samu_lab.paths import edge_config
from samu_lab.procs import HOST, free_port, stop_process, wait_for
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.rpc import KamailioRpc, RpcError


@dataclass
class Kamailio:
    """The edge config of the chart, run on 127.0.0.1 with the test's ports and files."""

    workdir: Path
    cfg: Path = field(default_factory=edge_config)
    defines: dict[str, str] = field(default_factory=dict)
    children: int = 4
    shm_mb: int = 512
    sip_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: the key signing the edge's Record-Route (the chart's Secret), new for every edge
    rr_key: str = field(default_factory=lambda: secrets.token_hex(32))

    @property
    def files(self) -> EdgeFiles:
        return EdgeFiles(self.workdir / "tables")

    @property
    def rpc(self) -> KamailioRpc:
        return KamailioRpc(f"http://{HOST}:{self.http_port}/RPC", timeout=5.0)

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/metrics"

    @property
    def log(self) -> Path:
        return self.workdir / "kamailio.log"

    def command(self) -> list[str]:
        run = self.workdir / "run"
        params = {
            "EDGE_SIP_LISTEN": f"udp:{HOST}:{self.sip_port}",
            "EDGE_SIP_LISTEN_TCP": f"tcp:{HOST}:{self.sip_port}",
            "EDGE_HTTP_LISTEN": f"tcp:{HOST}:{self.http_port}",
            "EDGE_HTTP_PORT": str(self.http_port),
            "EDGE_DISPATCHER_LIST": f'"{self.files.dispatcher}"',
            "EDGE_ROUTING_DB": f'"text://{self.files.directory}"',
            "EDGE_CTL_SOCKET": f'"unix:{run / "ctl.sock"}"',
            "EDGE_RUNDIR": f'"{run}"',
            "EDGE_CHILDREN": str(self.children),
            **self.defines,
        }
        # -x/-X tlsf: the memory managers the chart runs Kamailio with (see its _helpers.tpl)
        cmd = ["kamailio", "-f", str(self.cfg), "-DD", "-E", "-x", "tlsf", "-X", "tlsf"]
        # one JSON record a line, as the chart runs it (see log_records)
        cmd += ["--log-engine=json:M"]
        cmd += ["-m", str(self.shm_mb), "-M", "16"]
        cmd += ["-P", str(run / "kamailio.pid")]
        for name, value in params.items():
            cmd += ["-A", f"{name}={value}" if value else name]
        return cmd

    def start(self, timeout: float = 20.0) -> Kamailio:
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        self.files.directory.mkdir(parents=True, exist_ok=True)
        for path in (self.files.dispatcher, self.files.routing):
            if not path.exists():
                raise FileNotFoundError(f"write {path} before starting Kamailio")
        seed_positions_tables(self.files)
        with self.log.open("wb") as log:
            env = {**os.environ, "SAMU_EDGE_RR_KEY": self.rr_key}
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited: {self.log.read_text()[-3000:]}")
            try:
                self.rpc.call("core.version")
            except RpcError:
                return False
            return True

        wait_for(ready, timeout, "kamailio's RPC")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def kill(self) -> None:
        """SIGKILL to Kamailio and its children (its SIP and RPC workers), as a node's loss
        would: nothing answers any more, no BYE, no reply."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    children.append(int(stat.parent.name))
        for pid in [self.proc.pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)

    def log_records(self) -> list[dict[str, Any]]:
        """Kamailio's log records (one JSON document a line: --log-engine=json); the few lines
        it prints before logging starts (its listeners) are left out."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def log_messages(self) -> list[str]:
        return [record["message"] for record in self.log_records()]

    def dispatcher_flags(self) -> dict[str, str]:
        """URI -> dispatcher flags as Kamailio sees them now (A active, I inactive, D disabled,
        P probing)."""
        try:
            result = self.rpc.call("dispatcher.list")
        except RpcError as exc:
            if "No Destination Sets" in str(exc):
                return {}
            raise
        flags: dict[str, str] = {}
        for record in result.get("RECORDS", []):
            for target in record["SET"]["TARGETS"]:
                flags[target["DEST"]["URI"]] = target["DEST"]["FLAGS"]
        return flags


def seed_positions_tables(files: EdgeFiles) -> None:
    """The positions' tables (empty) when the lab wrote none: the registrar's modules need
    them to start, as the chart's seed gives them."""
    from samu_operator.core import edge_positions

    for path, text in (
        (files.version, edge_positions.version_table()),
        (files.subscriber, edge_positions.subscriber_table([])),
        (files.address, edge_positions.address_table([])),
    ):
        if not path.exists():
            path.write_text(text)
