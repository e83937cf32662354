"""The contract between the operator and the PBX image: paths, ports, modules, the edge.

The operator renders Asterisk's files into a ConfigMap mounted read-only at ``CONFIG_DIR``;
the container's root file system is read-only, so every directory Asterisk writes to is a
volume of the StatefulSet (``WRITABLE_DIRS``). ``asterisk.conf``'s ``[directories]`` names each
of them, and a test maps every path there to a mount or to the image (``IMAGE_DIRS``).
``MODULES`` is the only list of Asterisk modules: ``modules.conf`` loads exactly these (no
autoload) and the image recipe (``operator/images/pbx/Dockerfile``) builds exactly these; a test
compares the two. docs/pbx-contract.md says the same for people.

The edge's address has one source: the Service the edge chart creates (release ``samu-edge``
in Namespace ``samu-edge``: ``samu-edge-sip``); a test renders the chart and compares. A
ClusterIP is never the source of a request from an edge pod, so the PBX identifies the edge
by the cluster's pod network (``EDGE_SOURCE_CIDRS``) and the NetworkPolicy admits SIP from
the edge Namespace only: the two together leave only the edge's pods.
"""

import ipaddress
import re

from samu_operator.core.meta import RTP_PORTS, SIP_PORT

# -- the edge ---------------------------------------------------------------------------------
EDGE_NAMESPACE = "samu-edge"
#: The edge chart's SIP Service: ``<release fullname>-sip`` with the release ``samu-edge``.
EDGE_SERVICE = "samu-edge-sip"
EDGE_HOST = f"{EDGE_SERVICE}.{EDGE_NAMESPACE}.svc.cluster.local"
#: Where requests from the edge's pods come from: the cluster's pod network (RKE2's default
#: ``cluster-cidr``, when the operator is not told the cluster's own: ``POD_CIDRS_ENV``, set by
#: the operator chart's ``cluster.podCidrs``, which the Pulumi program sets from the stack's
#: ``network.podCidr``). Edge pods have no fixed address; the NetworkPolicy narrows it to them.
EDGE_SOURCE_CIDRS = ("10.42.0.0/16",)
POD_CIDRS_ENV = "SAMU_POD_CIDRS"


def pod_cidrs(text: str | None) -> tuple[str, ...]:
    """The cluster's pod networks from ``POD_CIDRS_ENV`` (comma-separated IPv4/IPv6 CIDR);
    ``EDGE_SOURCE_CIDRS`` when unset. A bad value is refused naming the variable and the fix:
    a PBX that took requests from anywhere, or from no edge, must never be rendered."""
    if text is None or not text.strip():
        return EDGE_SOURCE_CIDRS
    out = []
    for item in text.split(","):
        try:
            out.append(str(ipaddress.ip_network(item.strip(), strict=True)))
        except ValueError as exc:
            raise ValueError(
                f"{POD_CIDRS_ENV}={text!r}: {item.strip()!r} is not a network ({exc}); give the "
                "cluster's pod CIDRs, comma-separated (RKE2 cluster-cidr, e.g. 10.42.0.0/16)"
            ) from None
    if any(ipaddress.ip_network(c).prefixlen == 0 for c in out):
        raise ValueError(
            f"{POD_CIDRS_ENV}={text!r}: a /0 would let anyone be the edge; give the cluster's "
            "pod CIDRs (RKE2 cluster-cidr, e.g. 10.42.0.0/16)"
        )
    return tuple(out)


# -- files and directories ---------------------------------------------------------------------
#: The ConfigMap (every rendered file), read-only. Asterisk is started with
#: ``-C CONFIG_DIR/asterisk.conf`` and ``astetcdir`` points here.
CONFIG_DIR = "/etc/asterisk/samu"
#: The tenant's Secret (the edge's credentials, the positions' passwords), read-only.
SECRETS_DIR = "/etc/asterisk/secrets"
SECRETS_FILE = f"{SECRETS_DIR}/pjsip-auth.conf"
#: The recordings volume (PVC, sub-path ``spool``): MixMonitor writes one WAV per call here,
#: the recording shipper reads it (``SAMU_SHIPPER_SPOOL``).
RECORDINGS_DIR = "/var/spool/asterisk/recordings"
#: The shipper's journal, on the same PVC (sub-path ``state``) so it survives a restart.
SHIPPER_STATE_DIR = "/var/lib/samu-shipper"
#: Asterisk's writable directories (emptyDir each; astdb holds no configuration: queue
#: members and everything else come from the rendered files at every start).
SPOOL_DIR = "/var/spool/asterisk"
RUN_DIR = "/var/run/asterisk"
LOG_DIR = "/var/log/asterisk"
DB_DIR = "/var/lib/asterisk/db"
#: Read-only, from the image: modules, sounds (``sounds/fr``), music on hold, keys.
MODULE_DIR = "/usr/lib/asterisk/modules"
DATA_DIR = "/var/lib/asterisk"
#: asterisk.conf's [directories]: key -> path.
DIRECTORIES = {
    "astetcdir": CONFIG_DIR,
    "astmoddir": MODULE_DIR,
    "astvarlibdir": DATA_DIR,
    "astdbdir": DB_DIR,
    "astkeydir": DATA_DIR,
    "astdatadir": DATA_DIR,
    "astagidir": f"{DATA_DIR}/agi-bin",
    "astspooldir": SPOOL_DIR,
    "astrundir": RUN_DIR,
    "astlogdir": LOG_DIR,
    "astsbindir": "/usr/sbin",
}
WRITABLE_DIRS = (SPOOL_DIR, RECORDINGS_DIR, RUN_DIR, LOG_DIR, DB_DIR)
IMAGE_DIRS = (MODULE_DIR, DATA_DIR, f"{DATA_DIR}/agi-bin", "/usr/sbin")
#: Asterisk's queue_log (app_queue events, the abandoned calls' source).
QUEUE_LOG = f"{LOG_DIR}/queue_log"
#: The remote console's socket: the reloader sidecar talks to Asterisk through it.
CONTROL_SOCKET = f"{RUN_DIR}/asterisk.ctl"
#: The reloader sidecar's program, in the PBX image (operator/images/pbx/samu-pbx-reloader).
RELOADER_COMMAND = "/usr/local/bin/samu-pbx-reloader"
#: The file (in the ConfigMap) telling the reloader what to run when a file changed.
RELOAD_MAP = "reload-commands"
#: How each file is applied to a running Asterisk (its remote-console command); "restart":
#: only a restart applies it (a planned switchover: standby first, never the active).
RELOAD_COMMANDS = {
    "extensions.conf": "dialplan reload",
    "pjsip.conf": "module reload res_pjsip.so",
    "pjsip-auth.conf": "module reload res_pjsip.so",
    "queues.conf": "module reload app_queue.so",
    "musiconhold.conf": "moh reload",
    "rtp.conf": "module reload res_rtp_asterisk.so",
    "logger.conf": "logger reload",
    "asterisk.conf": "restart",
    "modules.conf": "restart",
}


def reload_map() -> str:
    """The reloader's map, one "<file> <command>" a line."""
    return "".join(f"{file} {command}\n" for file, command in RELOAD_COMMANDS.items())


# -- users and ports ---------------------------------------------------------------------------
#: The image's ``asterisk`` user and group (non-root); the pod runs as them.
UID = 1000
GID = 1000
PORTS = {"sip": SIP_PORT, "rtp_start": RTP_PORTS[0], "rtp_end": RTP_PORTS[1]}

# -- sounds ------------------------------------------------------------------------------------
#: Sounds the dialplan plays besides the greeting prompt (French, from the image: Asterisk's
#: core sounds and the platform's own ``samu/`` prompts). app_queue's position announcements
#: use the core ``queue-*`` sounds.
SOUNDS = ("samu/greeting", "queue-thereare", "queue-callswaiting", "queue-youarenext")

# -- modules -----------------------------------------------------------------------------------
#: Every module the rendered configuration uses, and why. modules.conf loads these only.
MODULES: dict[str, str] = {
    "res_sorcery_config.so": "PJSIP objects read from pjsip.conf",
    "res_sorcery_memory.so": "PJSIP's in-memory objects (contacts)",
    "res_sorcery_astdb.so": "required by res_pjsip (its default contact storage)",
    "res_pjproject.so": "the PJSIP stack",
    "res_pjsip.so": "SIP transports, endpoints, aors, auths",
    "res_pjsip_session.so": "SIP calls",
    "res_pjsip_pubsub.so": "required by chan_pjsip",
    "res_pjsip_endpoint_identifier_ip.so": "identify: the edge by its pods' addresses",
    "res_pjsip_outbound_authenticator_digest.so": "the PBX authenticates to the edge",
    "res_pjsip_header_funcs.so": "PJSIP_HEADER (X-Samu-Overflow-From, X-Samu-Departement)",
    "res_pjsip_caller_id.so": "the caller's number from the carrier",
    "res_pjsip_sdp_rtp.so": "audio streams in SDP",
    "res_pjsip_nat.so": "rtp_symmetric / rport behind the cluster network",
    "res_pjsip_refer.so": "transfers (REFER) from a position's phone",
    "chan_pjsip.so": "the PJSIP channel driver",
    "res_rtp_asterisk.so": "RTP (rtp.conf: the NetworkPolicy's port range), RFC 4733 DTMF",
    "res_timing_timerfd.so": "timing for music on hold, recording and announcements",
    "res_musiconhold.so": "what callers hear while queued",
    "bridge_simple.so": "caller-to-ARM bridges",
    "bridge_native_rtp.so": "caller-to-ARM bridges, media kept in Asterisk (no direct media)",
    "bridge_builtin_features.so": "Queue's 't' option: the ARM transfers the caller",
    "codec_alaw.so": "G.711 A-law (the carrier's codec)",
    "codec_ulaw.so": "G.711 mu-law",
    "format_wav.so": "recordings: 8 kHz 16-bit PCM WAV",
    "format_pcm.so": "the French sounds (.alaw)",
    "pbx_config.so": "extensions.conf",
    "app_dial.so": "Dial: débordement to the partner through the edge",
    "app_queue.so": "the queues and their members (positions)",
    "app_mixmonitor.so": "MixMonitor: the PBX's recording copy",
    "app_stack.so": "Return in the pre-dial handler",
    "func_strings.so": "FILTER (the recording's file name)",
    "func_groupcount.so": "GROUP / GROUP_COUNT (capacity)",
    "func_callerid.so": "CALLERID",
    "func_channel.so": "CHANNEL(pjsip,call-id)",
}

# -- recordings --------------------------------------------------------------------------------
#: Characters kept from a SIP Call-ID in a recording's file name (Asterisk's FILTER syntax:
#: '-' first is itself, then ranges); the same rule in Python is ``call_id_safe``.
CALL_ID_SAFE_FILTER = "-0-9A-Za-z._@"
_NOT_SAFE = re.compile(r"[^-0-9A-Za-z._@]")
#: MixMonitor's format: 8 kHz, 16-bit signed linear PCM, both directions mixed: 16000 B/s.
RECORDING_BYTES_PER_SECOND = 8000 * 2


def call_id_safe(call_id: str) -> str:
    """The file name stem MixMonitor gives a call's recording: its Call-ID, filtered."""
    return _NOT_SAFE.sub("", call_id)


def header(what: str, tenant: str, display_name: str) -> str:
    """The comment heading every rendered file. The display name is free text: written on a
    comment line only, any character that could end the line replaced (the model refuses
    them already; this keeps the file safe whatever reaches it)."""
    return (
        f"; {what} of {tenant} ({comment_text(display_name)}): generated by samu-operator\n"
        "; from the SamuTenant spec. Do not edit: the operator puts it back.\n"
    )


def comment_text(text: str) -> str:
    """Free text made fit for one comment line: non-printable characters become '?'."""
    return "".join(c if c.isprintable() else "?" for c in text)


def asterisk_conf(tenant: str, display_name: str, max_channels: int) -> str:
    """Options and the [directories] of the contract (the mounts, see ``DIRECTORIES``)."""
    dirs = "".join(f"{key} => {path}\n" for key, path in DIRECTORIES.items())
    return (
        header("asterisk.conf", tenant, display_name)
        + "[directories]\n"
        + dirs
        + "\n[options]\n"
        + f"systemname = {tenant}\n"
        + f"maxcalls = {max_channels}\n"
        + "defaultlanguage = fr\n"
        + "transmit_silence = yes\n"
    )


def modules_conf(tenant: str, display_name: str) -> str:
    lines = "".join(f"load = {name} ; {why}\n" for name, why in MODULES.items())
    return header("modules.conf", tenant, display_name) + "[modules]\nautoload = no\n" + lines


def logger_conf(tenant: str, display_name: str) -> str:
    """Console logs (kubectl logs) and app_queue's queue_log (the abandoned calls' source)."""
    return (
        header("logger.conf", tenant, display_name)
        + "[general]\nqueue_log = yes\nqueue_log_name = queue_log\n"
        + "dateformat = %F %T\n"
        + "\n[logfiles]\nconsole => notice,warning,error\n"
    )


def rtp_conf(tenant: str, display_name: str) -> str:
    """The RTP ports: the range the NetworkPolicy opens from the edge."""
    return (
        header("rtp.conf", tenant, display_name)
        + f"[general]\nrtpstart = {RTP_PORTS[0]}\nrtpend = {RTP_PORTS[1]}\n"
    )


def musiconhold_conf(tenant: str, display_name: str) -> str:
    return (
        header("musiconhold.conf", tenant, display_name)
        + "[default]\nmode = files\ndirectory = moh\n"
    )
