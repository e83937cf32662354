"""OpenStack Swift on loopback for the lab: proxy, account, container and object
servers (two by default, a 2-replica object ring) in a temporary directory.

Every server is a child process of the lab (tracked by PID: Swift's servers ``setsid()``, so a
process-group kill would miss them) started through ``samu_lab.swift_server``. Rings are
built with Swift's Python API (a tenth of a second, against seconds for the CLI). The proxy uses
tempauth (``test:tester`` / ``testing``) with an in-process cache.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

STORAGE_POLICY = "zone-replicated"
USER, KEY = "test:tester", "testing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


SERVER_PIPELINE = {
    "account": "egg:swift#account",
    "container": "egg:swift#container",
    "object": "egg:swift#object",
}


@dataclass
class SwiftLab:
    """A running loopback Swift; ``env`` holds the ST_* variables the shipper and samuctl read."""

    root: Path
    object_servers: int = 2
    replicas: int = 2
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}/auth/v1.0"

    @property
    def env(self) -> dict[str, str]:
        return {
            "ST_AUTH": self.auth_url,
            "ST_USER": USER,
            "ST_KEY": KEY,
            "SAMU_RECORDINGS_STORAGE_POLICY": STORAGE_POLICY,
        }

    def backends(self) -> list[str]:
        return ["account", "container"] + [f"object{i}" for i in range(self.object_servers)]

    def write_config(self) -> None:
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / "swift.conf").write_text(
            "[swift-hash]\nswift_hash_path_suffix = samu-lab\nswift_hash_path_prefix = lab\n"
            f"[storage-policy:0]\nname = {STORAGE_POLICY}\ndefault = yes\n"
        )
        for name in [*self.backends(), "proxy"]:
            self.ports[name] = free_port()
        for name in self.backends():
            kind = name.rstrip("0123456789")
            devices = self.root / "srv" / name
            (devices / "d0").mkdir(parents=True, exist_ok=True)
            (self.etc / f"{name}.conf").write_text(
                f"[DEFAULT]\ndevices = {devices}\nmount_check = false\nbind_ip = 127.0.0.1\n"
                f"bind_port = {self.ports[name]}\nworkers = 0\nswift_dir = {self.etc}\n"
                "fallocate_reserve = 0\nlog_level = WARNING\ndisable_fallocate = true\n"
                f"[pipeline:main]\npipeline = {kind}-server\n"
                f"[app:{kind}-server]\nuse = {SERVER_PIPELINE[kind]}\n"
            )
        (self.etc / "proxy.conf").write_text(
            f"[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {self.ports['proxy']}\nworkers = 0\n"
            f"swift_dir = {self.etc}\nlog_level = WARNING\n"
            "[pipeline:main]\npipeline = catch_errors dictcache tempauth bulk proxy-server\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
            "conn_timeout = 0.5\nnode_timeout = 5\nerror_suppression_interval = 1\n"
            "[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
            "[filter:bulk]\nuse = egg:swift#bulk\n"
            "[filter:dictcache]\n"
            "paste.filter_factory = samu_lab.swift_server:dict_cache_filter\n"
            f"[filter:tempauth]\nuse = egg:swift#tempauth\nuser_{USER.replace(':', '_')} = {KEY} .admin\n"
        )
        self.build_rings()

    def build_rings(self) -> None:
        with warnings.catch_warnings():
            # importing Swift imports eventlet and dnspython, which warn about DSA keys at
            # import: noise for whoever runs the lab, nothing it uses
            warnings.simplefilter("ignore")
            from swift.common.ring import RingBuilder

        layout = {
            "account": ["account"],
            "container": ["container"],
            "object": [f"object{i}" for i in range(self.object_servers)],
        }
        for ring, servers in layout.items():
            replicas = self.replicas if ring == "object" else 1
            builder = RingBuilder(6, replicas, 1)
            for index, name in enumerate(servers):
                builder.add_dev(
                    {
                        "id": index,
                        "region": 1,
                        "zone": index + 1,
                        "ip": "127.0.0.1",
                        "port": self.ports[name],
                        "device": "d0",
                        "weight": 100,
                    }
                )
            builder.rebalance()
            builder.get_ring().save(str(self.etc / f"{ring}.ring.gz"))

    def start_server(self, name: str) -> None:
        conf = self.etc / f"{name}.conf"
        section = name.rstrip("0123456789") + "-server"
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 (kept by the child)
        self.procs[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "samu_lab.swift_server",
                str(self.etc),
                str(conf),
                section,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.root),
        )
        log.close()

    def stop_server(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def start(self, timeout: float = 30) -> SwiftLab:
        self.write_config()
        for name in self.backends():
            self.start_server(name)
        for name in self.backends():
            self.wait_started(name, timeout)
        self.start_proxy(timeout)
        return self

    def wait_started(self, name: str, timeout: float) -> None:
        try:
            wait_port(self.ports[name], timeout)
        except TimeoutError:
            log = (self.root / f"{name}.log").read_text(errors="replace")[-2000:]
            raise TimeoutError(f"Swift {name} did not start: {log}") from None

    def start_proxy(self, timeout: float = 30) -> None:
        self.start_server("proxy")
        self.wait_started("proxy", timeout)

    def stop_proxy(self) -> None:
        self.stop_server("proxy")

    def stop(self) -> None:
        for name in list(self.procs):
            self.stop_server(name)
