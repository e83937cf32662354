"""Recording shipper benchmark: CPU seconds of the shipper per call-minute, at N concurrent
calls for D seconds, against the loopback Swift (and, with --store-down S, the store-outage
drill: the proxy stopped S seconds mid-run; nothing may be lost, the backlog must drain).

    .venv/bin/python tests/benchmarks/bench_shipper.py [--calls 100] [--seconds 60]
        [--store-down 0] [--chunk-seconds 1]

The recorder is a stand-in writing what rtpengine writes (one pcap per call, both sides'
G.711 packets, 50 per second per side, appended in ~4 KiB blocks every 0.2 s; metadata in
spool/tmp, moved to spool/metadata at the call's end), so that the figure is the shipper's
alone on this shared 2-core machine. With --edge-rpc (the edge's setting), a real Kamailio
holds the edge's record of each answered call (htable "calls", filled as the calls start) and
the shipper asks it for a running call's tenant; without, the tenant is learnt at the call's
end and the chunks copied from the in-flight container then. The shipper is the real program as its own process;
its CPU time is read from the kernel (wait4) when it exits.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from samu_lab.kamailio import Kamailio  # noqa: E402
from samu_recordings.core import naming  # noqa: E402
from samu_recordings.store import Store  # noqa: E402
from tests.recordings import audio, pcapgen  # noqa: E402
from tests.recordings.harness import ShipperProcess, objects, shipper_env, wait_for  # noqa: E402
from tests.recordings.swiftlab import SwiftLab  # noqa: E402

TENANT = "samu-30"


class Recorder:
    """N calls' pcaps growing in real time, as rtpengine writes them."""

    def __init__(self, spool: Path, calls: int) -> None:
        self.spool = spool
        for sub in ("pcaps", "tmp", "metadata"):
            (spool / sub).mkdir(parents=True, exist_ok=True)
        self.stems = [f"bench-{i}%40carrier-{i:016x}" for i in range(calls)]
        self.packets = [audio.caller_packet(i) for i in range(50 * 37)]
        self.centre = audio.centre_packet(0)
        for stem in self.stems:
            (spool / "pcaps" / f"{stem}.pcap").write_bytes(pcapgen.global_header())
            (spool / "tmp" / f"rtpengine-meta-{stem}.tmp").write_text(self.meta_head(stem))
        self.sent = 0

    def meta_head(self, stem: str) -> str:
        return (
            f"{self.spool}/pcaps/{stem}.pcap\n\nSDP mode: offer\nm=audio {pcapgen.CENTRE_PORT} "
            f"RTP/AVP 0\nSDP mode: answer\nm=audio {pcapgen.CALLER_PORT} RTP/AVP 0\n"
        )

    def run(self, seconds: float) -> None:
        start = time.time()
        blocks = int(seconds * 5)
        for block in range(blocks):
            for stem in self.stems:
                out = []
                for i in range(block * 10, block * 10 + 10):
                    when = start + i * 0.02
                    out.append(
                        pcapgen.record(
                            when,
                            pcapgen.CALLER_PORT,
                            0x1111,
                            i,
                            self.packets[i % len(self.packets)],
                        )
                    )
                    out.append(pcapgen.record(when, pcapgen.CENTRE_PORT, 0x2222, i, self.centre))
                with open(self.spool / "pcaps" / f"{stem}.pcap", "ab") as f:
                    f.write(b"".join(out))
            self.sent = (block + 1) * 10
            delay = start + (block + 1) * 0.2 - time.time()
            if delay > 0:
                time.sleep(delay)
        for n, stem in enumerate(self.stems):
            tmp = self.spool / "tmp" / f"rtpengine-meta-{stem}.tmp"
            tmp.write_text(
                self.meta_head(stem)
                + f"\ntenant:{TENANT}|caller:+3346600{n:04d}|called:15|callid:bench-{n}@carrier\n"
            )
            os.replace(tmp, self.spool / "metadata" / f"rtpengine-meta-{stem}.txt")


def calls_record(workdir: Path, calls: int) -> Kamailio:
    """A real Kamailio holding the edge's record of each call, as answered (calls_htable.cfg)."""
    kamailio = Kamailio(workdir, cfg=Path(__file__).with_name("calls_htable.cfg"), children=1)
    kamailio.files.directory.mkdir(parents=True, exist_ok=True)
    kamailio.files.dispatcher.touch()
    kamailio.files.routing.touch()
    kamailio.start()
    for n in range(calls):
        value = (
            f"sip:127.0.0.1:5060|{int(time.time())}|pbx{n}|{TENANT}|sip:+3346600{n:04d}@carrier|"
            f"c{n}|sip:15@edge|<null>|<sip:+3346600{n:04d}@carrier>"
        )
        kamailio.rpc.call("htable.sets", "calls", f"bench-{n}@carrier", value)
    return kamailio


def cpu_seconds_at_exit(proc) -> float:
    proc.send_signal(signal.SIGTERM)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--store-down", type=float, default=0, help="seconds the proxy is stopped")
    parser.add_argument("--chunk-seconds", default="1")
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="seconds to wait for every call indexed"
    )
    parser.add_argument(
        "--edge-rpc",
        action="store_true",
        help="the shipper asks a real Kamailio for a running call's tenant (as the edge's does)",
    )
    parser.add_argument(
        "--profile", type=Path, help="write the shipper's cProfile statistics to this file"
    )
    args = parser.parse_args()

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too stops every server below

    signal.signal(signal.SIGTERM, interrupted)
    root = Path(tempfile.mkdtemp(prefix="bench-shipper-"))
    lab = SwiftLab(root / "swift").start()
    shipper = kamailio = None
    try:
        recorder = Recorder(root / "spool", args.calls)
        env = shipper_env(
            lab, root, SAMU_SHIPPER_CHUNK_SECONDS=args.chunk_seconds, SAMU_SHIPPER_IDLE_SECONDS="90"
        )
        if args.edge_rpc:
            kamailio = calls_record(root / "kamailio", args.calls)
            env["SAMU_SHIPPER_EDGE_RPC"] = kamailio.rpc.url
        shipper = ShipperProcess(env, root / "shipper.log", args.profile).start()
        oldest: list[float] = []
        sampler_stop = threading.Event()

        def sample() -> None:
            while not sampler_stop.wait(1):
                with contextlib.suppress(OSError):
                    oldest.append(shipper.metrics()["samu_recordings_oldest_unshipped_seconds"])

        threading.Thread(target=sample, daemon=True).start()
        writer = threading.Thread(target=recorder.run, args=(args.seconds,))
        t0 = time.time()
        writer.start()
        if args.store_down:
            time.sleep(max(0.0, (args.seconds - args.store_down) / 2))
            lab.stop_proxy()
            time.sleep(args.store_down)
            lab.start_proxy()
        writer.join()
        container = naming.container_name(TENANT)
        wait_for(
            "every call indexed",
            lambda: len(objects(lab, container, "index/call-id/")) == args.calls,
            args.drain_timeout,
        )
        drained = time.time() - t0 - args.seconds
        sampler_stop.set()
        cpu = cpu_seconds_at_exit(shipper.proc)
        store = Store.from_env(lab.env)
        chunks = len([n for n in store.list(container, "calls/") if "/chunk-" in n])
        lost = 0
        for n in range(args.calls):
            entry = json.loads(
                store.get(container, f"index/call-id/bench-{n}@carrier/edge-fr-par-1a.json")
            )
            if entry["seconds"] < recorder.sent / 50 - 0.05:
                lost += 1
        call_minutes = args.calls * args.seconds / 60
        print(json.dumps({
            "calls": args.calls, "seconds": args.seconds, "storeDownSeconds": args.store_down,
            "chunkSeconds": float(args.chunk_seconds), "chunks": chunks,
            "shipperCpuSeconds": round(cpu, 2),
            "shipperCpuSecondsPerCallMinute": round(cpu / call_minutes, 4),
            "shipperCoreShare": round(cpu / args.seconds, 3),
            "maxOldestUnshippedSeconds": max(oldest, default=0),
            "drainedSecondsAfterCallsEnded": round(drained, 1),
            "callsShort": lost, "edgeRpc": args.edge_rpc,
        }))  # fmt: skip
    finally:
        if shipper and shipper.proc and shipper.proc.returncode is None:
            shipper.kill()
        if kamailio is not None:
            kamailio.stop()
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
