"""Asterisk configuration of a tenant's PBX, rendered from its SamuTenant spec.

One engine only (Asterisk 20: PJSIP, dialplan, app_queue). No Asterisk runs in this project's
tests: the rendering is checked against golden files (tests/operator/golden/) and by rules
(the vital-distress digit reaches the first-served queue, a 15 call is never hung up).

Call flow rendered here:
``from-edge`` counts the call against ``capacity.maxConcurrentCalls`` (the PBX is the one place
that sees all of a SAMU's calls: each SIP edge replica sees only its share) and, beyond it and
with a partner, answers 486 Busy Here: the SIP edge sends the call to the partner SAMU, marked
``X-Samu-Overflow-From``; a call so marked is always taken and never overflowed again (no
ping-pong), and the edge brings a call back marked when the partner cannot take it. Then it
answers and starts recording (MixMonitor, before anything else: no call without its recording)
-> ``ivr`` plays the greeting -> the vital-distress digit goes to the queue served first,
anything else (or no digit) to the default queue -> each queue waits up to its
``maxWaitSeconds`` (capped by ``overflow.afterSeconds``) -> overflow to the partner SAMU through
the SIP edge (a bare 15 with the partner's département, as a carrier sends it) -> if the
partner does not answer, back to the same queue. A 15 call is never hung up by the PBX.
"""

from samu_operator.core import pbx_contract, positions
from samu_operator.core.pbx_contract import (
    CALL_ID_SAFE_FILTER,
    EDGE_HOST,
    EDGE_SOURCE_CIDRS,
    RECORDINGS_DIR,
    SECRETS_FILE,
)
from samu_operator.model.tenant import QueueSpec, SamuTenantSpec

#: app_queue weight: a queue with a higher weight gets first shot at a shared agent.
MAX_WEIGHT = 9
#: Asterisk's own channel ceiling per admitted call: the caller's leg, the agent's leg and a
#: débordement leg. ``maxcalls`` is only a last guard (beyond it Asterisk answers 503 and the
#: edge takes the PBX for dead); the dialplan's 486 is what enforces the capacity.
CHANNELS_PER_CALL = 3
#: The pseudo-queue of queue_log lines written for the IVR (before any app_queue queue).
IVR_QUEUE = "ivr"
#: Seconds a position rests after a call before the queue offers it the next one.
WRAPUP_SECONDS = 5


def _header(tenant: str, spec: SamuTenantSpec, what: str) -> str:
    return pbx_contract.header(what, tenant, spec.display_name)


def queue_id(queue: QueueSpec) -> str:
    """The app_queue name: prefixed, since '[general]' is app_queue's own settings section
    and a SAMU may well call a queue 'general'."""
    return f"q-{queue.name}"


def queue_weight(queue: QueueSpec) -> int:
    """Priority 0 (served first) gets the highest app_queue weight."""
    return MAX_WEIGHT - queue.priority


def default_queue(spec: SamuTenantSpec) -> QueueSpec:
    """Where a caller goes without the vital-distress digit: the last-served queue."""
    return max(spec.queues, key=lambda q: q.priority)


def queue_timeout(spec: SamuTenantSpec, queue: QueueSpec) -> int:
    """Seconds a caller waits in a queue before overflowing (or re-queueing without partner)."""
    if spec.overflow is None:
        return queue.max_wait_seconds
    return min(queue.max_wait_seconds, spec.overflow.after_seconds)


def max_channels(spec: SamuTenantSpec) -> int:
    """asterisk.conf ``maxcalls`` counts channels, not calls: an answered call has two."""
    return CHANNELS_PER_CALL * spec.capacity.max_concurrent_calls


def partner_department(spec: SamuTenantSpec) -> str | None:
    """The partner's département, from its name (``tenant_name_for``: the one valid name)."""
    if spec.overflow is None:
        return None
    return spec.overflow.partner.removeprefix("samu-").upper()


def asterisk_conf(tenant: str, spec: SamuTenantSpec) -> str:
    return pbx_contract.asterisk_conf(tenant, spec.display_name, max_channels(spec))


def pjsip_conf(
    tenant: str, spec: SamuTenantSpec, edge_cidrs: tuple[str, ...] = EDGE_SOURCE_CIDRS
) -> str:
    """Transports, and one endpoint: the SIP edge (its pods: ``edge_cidrs``, the cluster's
    pod networks), authenticated by the generated secret."""
    return (
        _header(tenant, spec, "pjsip.conf")
        + "[global]\n"
        + "type = global\n"
        + f"user_agent = samu-pbx {tenant}\n"
        + "\n[transport-udp]\ntype = transport\nprotocol = udp\nbind = 0.0.0.0:5060\n"
        + "\n[transport-tcp]\ntype = transport\nprotocol = tcp\nbind = 0.0.0.0:5060\n"
        + "\n[edge]\n"
        + "type = endpoint\n"
        + "context = from-edge\n"
        + "disallow = all\n"
        + "allow = alaw,ulaw\n"
        + "direct_media = no\n"
        + "rtp_symmetric = yes\n"
        + "outbound_auth = edge-auth\n"
        + "aors = edge\n"
        + "\n[edge]\n"
        + "type = aor\n"
        + f"contact = sip:{EDGE_HOST}:5060\n"
        + "qualify_frequency = 5\n"
        + "\n; The edge's pods (no fixed address): the cluster's pod network, which the\n"
        + "; NetworkPolicy narrows to the edge Namespace for SIP.\n"
        + "[edge-identify]\n"
        + "type = identify\n"
        + "endpoint = edge\n"
        + "".join(f"match = {cidr}\n" for cidr in edge_cidrs)
        + "\n; The edge's credentials (section [edge-auth]) come from the tenant's Secret,\n"
        + "; generated once at onboarding and never written here.\n"
        + f"#include {SECRETS_FILE}\n"
    )


def queue_strategy(spec: SamuTenantSpec, queue: QueueSpec) -> str:
    """The vital-distress queue rings every free position at once (the first to pick up
    takes it); the others ring the position idle the longest (fair load)."""
    return "ringall" if queue == spec.vital_queue else "leastrecent"


def queues_conf(tenant: str, spec: SamuTenantSpec) -> str:
    """One queue per spec queue, its members the positions that answer it (dialled through
    the edge, where the phones register). A position shared by several queues is offered the
    heaviest queue's caller first: vital distress rings before any other call."""
    out = _header(tenant, spec, "queues.conf")
    out += "[general]\npersistentmembers = no\nshared_lastcall = yes\n"
    for queue in sorted(spec.queues, key=lambda q: q.priority):
        out += (
            f"\n[{queue_id(queue)}]\n"
            f"; queue {queue.name}, priority {queue.priority}: app_queue weight {queue_weight(queue)}\n"
            f"weight = {queue_weight(queue)}\n"
            f"strategy = {queue_strategy(spec, queue)}\n"
            "; ring a position 15 s, try the next after 1 s; several waiting callers are\n"
            "; offered to several free positions at once; a position rests wrapuptime\n"
            "; seconds after a call; one that does not answer is never paused on its own.\n"
            "timeout = 15\n"
            "retry = 1\n"
            "autofill = yes\n"
            f"wrapuptime = {WRAPUP_SECONDS}\n"
            "autopause = no\n"
            "ringinuse = no\n"
            "joinempty = yes\n"
            "leavewhenempty = no\n"
            "announce-position = yes\n"
            "announce-frequency = 30\n"
            "servicelevel = 20\n"
        )
        for position in positions.members(tenant, spec, queue.name):
            out += f"member => {positions.dial_interface(tenant, position)},0,{position.name}\n"
    return out


def extensions_conf(tenant: str, spec: SamuTenantSpec) -> str:
    vital = spec.vital_queue
    fallback = default_queue(spec)
    digit = spec.ivr.vital_distress_digit
    numbers = ", ".join(["15", *spec.numbers])
    out = _header(tenant, spec, "extensions.conf")
    out += (
        "; static: the dialplan is this file only; writeprotect: never saved over from the CLI.\n"
        "[general]\n"
        "static=yes\n"
        "writeprotect=yes\n"
        "\n"
        "[globals]\n"
        f"TENANT={tenant}\n"
        "\n"
        f"; Calls delivered by the SIP edge: 15 and the centre's numbers ({numbers}).\n"
        "[from-edge]\n"
        "exten => _[0-9+].,1,NoOp(${TENANT}: call from ${CALLERID(num)} to ${EXTEN})\n"
        " same => n,Set(OVERFLOW_FROM=${PJSIP_HEADER(read,X-Samu-Overflow-From)})\n"
        " same => n,Set(GROUP()=calls)\n" + _capacity_check(spec) + " same => n(take),Answer()\n"
        f" same => n,Set(SAMU_CALLID=${{FILTER({CALL_ID_SAFE_FILTER},${{CHANNEL(pjsip,call-id)}})}})\n"
        "; Recorded from the answer (no 'b' option): greeting, digit, queue wait, abandoned\n"
        "; calls; both directions mixed, 8 kHz 16-bit PCM WAV, named by the SIP Call-ID.\n"
        f" same => n,MixMonitor({RECORDINGS_DIR}/${{SAMU_CALLID}}.wav)\n"
        "; The call enters the IVR: queue_log gets it (Call-ID as the url, the caller), and a\n"
        "; hangup before an ARM answers is written there as ABANDON (see [call-end]).\n"
        " same => n,Set(SAMU_START=${EPOCH})\n"
        f" same => n,Set(SAMU_STAGE={IVR_QUEUE})\n"
        f" same => n,Set(SAMU_LOGQUEUE={IVR_QUEUE})\n"
        " same => n,Set(CHANNEL(hangup_handler_push)=call-end,s,1)\n"
        f" same => n,QueueLog({IVR_QUEUE},${{UNIQUEID}},NONE,ENTERQUEUE,${{SAMU_CALLID}}|${{CALLERID(num)}})\n"
        " same => n,Goto(ivr,s,1)\n"
        "\n"
        "[ivr]\n"
        f"; greeting: {pbx_contract.comment_text(spec.ivr.greeting)}\n"
        f"exten => s,1,Background({spec.ivr.greeting_prompt})\n"
        " same => n,WaitExten(4)\n"
        f"exten => {digit},1,NoOp(vital distress: queue {vital.name})\n"
        f" same => n,Goto(queue-{vital.name},s,1)\n"
        f"exten => t,1,Goto(queue-{fallback.name},s,1)\n"
        f"exten => i,1,Goto(queue-{fallback.name},s,1)\n"
    )
    for queue in sorted(spec.queues, key=lambda q: q.priority):
        after = "Goto(overflow,s,1)" if spec.overflow else f"Goto(queue-{queue.name},s,1)"
        out += (
            f"\n[queue-{queue.name}]\n"
            f"exten => s,1,Set(__SAMU_QUEUE={queue.name})\n"
            f" same => n,Set(SAMU_LOGQUEUE={queue_id(queue)})\n"
            " same => n,Set(SAMU_STAGE=queue)\n"
            f" same => n,Queue({queue_id(queue)},t,,,{queue_timeout(spec, queue)})\n"
            f" same => n,{after}\n"
        )
    if spec.overflow:
        out += (
            "\n; Débordement: the SIP edge routes this call to the partner SAMU (a bare 15 for its\n"
            "; département); if it does not answer, the caller goes back to the queue it came\n"
            "; from (never hung up). A call that came by débordement stays here.\n"
            "[overflow]\n"
            'exten => s,1,GotoIf($["${OVERFLOW_FROM}" != ""]?queue-${SAMU_QUEUE},s,1)\n'
            " same => n,Set(SAMU_STAGE=overflow)\n"
            f" same => n,Dial(PJSIP/edge/sip:15@{EDGE_HOST},30,b(overflow-headers^s^1))\n"
            " same => n,Goto(queue-${SAMU_QUEUE},s,1)\n"
            "\n; Pre-dial handler: PJSIP headers go on the outgoing channel, not the caller's.\n"
            "[overflow-headers]\n"
            f"exten => s,1,Set(PJSIP_HEADER(add,X-Samu-Departement)={partner_department(spec)})\n"
            " same => n,Set(PJSIP_HEADER(add,X-Samu-Overflow-From)=${TENANT})\n"
            " same => n,Return()\n"
        )
    return out + _call_end()


def _call_end() -> str:
    """The hang-up handler of every answered call: an abandonment app_queue does not log."""
    return (
        "\n; Hang-up handler: a caller who hangs up before an ARM answered, in the IVR or while\n"
        "; a débordement rings, is written to queue_log as ABANDON (position|origposition|\n"
        "; waittime); in a queue app_queue writes it itself; an answered call writes nothing.\n"
        "[call-end]\n"
        'exten => s,1,GotoIf($["${SAMU_STAGE}" = "queue" | "${DIALSTATUS}" = "ANSWER"]?done)\n'
        " same => n,QueueLog(${SAMU_LOGQUEUE},${UNIQUEID},NONE,ABANDON,1|1|$[${EPOCH} - ${SAMU_START}])\n"
        " same => n(done),Return()\n"
    )


def _capacity_check(spec: SamuTenantSpec) -> str:
    """Beyond capacity.maxConcurrentCalls, with a partner: 486 (the edge overflows the call).
    Without a partner nothing is refused: the call queues."""
    if spec.overflow is None:
        return ""
    limit = spec.capacity.max_concurrent_calls
    return (
        f"; beyond capacity.maxConcurrentCalls ({limit}): busy, and the SIP edge overflows\n"
        f"; the call to {spec.overflow.partner}; a call marked X-Samu-Overflow-From is taken\n"
        f' same => n,GotoIf($["${{OVERFLOW_FROM}}" != "" | ${{GROUP_COUNT(calls)}} <= {limit}]?take)\n'
        " same => n,Busy()\n"
    )


def render(
    tenant: str, spec: SamuTenantSpec, edge_cidrs: tuple[str, ...] = EDGE_SOURCE_CIDRS
) -> dict[str, str]:
    """Every configuration file of the PBX, by file name (the ConfigMap's data)."""
    return {
        "asterisk.conf": asterisk_conf(tenant, spec),
        "pjsip.conf": pjsip_conf(tenant, spec, edge_cidrs),
        "queues.conf": queues_conf(tenant, spec),
        "extensions.conf": extensions_conf(tenant, spec),
        "modules.conf": pbx_contract.modules_conf(tenant, spec.display_name),
        "logger.conf": pbx_contract.logger_conf(tenant, spec.display_name),
        "rtp.conf": pbx_contract.rtp_conf(tenant, spec.display_name),
        "musiconhold.conf": pbx_contract.musiconhold_conf(tenant, spec.display_name),
        pbx_contract.RELOAD_MAP: pbx_contract.reload_map(),
    }
