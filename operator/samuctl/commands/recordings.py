"""samuctl recordings list|get: find a call's recording in the store and write it as a WAV.

Store credentials come from the same environment variables as the shipper (the
``samu-recordings-store`` Secret's OS_* variables, or ST_AUTH/ST_USER/ST_KEY).
"""

import argparse
import os
import sys

from samuctl.commands.output import add_output_flag, print_data


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rec = subparsers.add_parser("recordings", help="find and get call recordings")
    verbs = rec.add_subparsers(dest="verb", metavar="VERB", required=True)

    listing = verbs.add_parser(
        "list",
        help="list a tenant's recorded calls (by day, caller or Call-ID)",
        description="List the recorded calls of a tenant, newest first, with their copies "
        "(edge, PBX) and zones. Filters combine.",
    )
    _common(listing)
    listing.add_argument("--date", help="UTC day of the call start, YYYY-MM-DD")
    listing.add_argument("--caller", help="the caller's number, e.g. +33466000001")
    listing.add_argument("--call-id", help="the call's SIP Call-ID")
    listing.add_argument("--limit", type=int, default=100, help="at most this many calls (100)")
    add_output_flag(listing)
    listing.set_defaults(func=_list)

    fetch = verbs.add_parser(
        "get",
        help="write one call's recording to a WAV file",
        description="Write a call's recording as a WAV: the edge copy (caller left, centre "
        "right) when there is one, else the PBX copy; assembled from its chunks when the "
        "call-end WAV is missing (e.g. the edge died mid-call).",
    )
    _common(fetch)
    fetch.add_argument("--call-id", required=True, help="the call's SIP Call-ID")
    fetch.add_argument("--date", help="UTC day of the call (finds chunks of unindexed calls)")
    fetch.add_argument("--copy", help="edge, pbx, or a copy name such as edge-fr-par-1a")
    fetch.add_argument("--out", "-f", required=True, help="the WAV file to write")
    add_output_flag(fetch)
    fetch.set_defaults(func=_get)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="the SamuTenant name, e.g. samu-30")


def _store():  # noqa: ANN202 (lazy import keeps `samuctl --help` fast)
    from samu_recordings.store import Store

    return Store.from_env(os.environ)


def _list(args: argparse.Namespace) -> int:
    from samu_recordings import finder
    from samu_recordings.store import StoreConfigError, StoreError

    if args.date and not _is_day(args.date):
        print(f"error: --date: {args.date!r}; give a day as YYYY-MM-DD", file=sys.stderr)
        return 1
    try:
        calls = finder.find(_store(), args.tenant, args.date, args.caller, args.call_id, args.limit)
    except (StoreConfigError, StoreError) as err:
        print(f"error: no store reachable: {err}", file=sys.stderr)
        return 1
    if args.output == "json":
        print_data({"tenant": args.tenant, "calls": calls}, "json")
        return 0
    if not calls:
        print(f"error: no recording of tenant {args.tenant} matches", file=sys.stderr)
        return 1
    print(f"{'START':24} {'CALL-ID':32} {'CALLER':14} {'CALLED':8} COPIES")
    for c in calls:
        print(f"{c['start']!s:24} {c['callId']!s:32} {c['caller'] or '-'!s:14} "
              f"{c['called'] or '-'!s:8} {','.join(c['copies'])}")  # fmt: skip
    return 0


def _get(args: argparse.Namespace) -> int:
    from samu_recordings import finder
    from samu_recordings.store import StoreConfigError, StoreError

    try:
        fetched = finder.get(_store(), args.tenant, args.call_id, args.date, args.copy)
    except (StoreConfigError, StoreError) as err:
        print(f"error: no store reachable: {err}", file=sys.stderr)
        return 1
    except finder.NotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        with open(args.out, "wb") as out:
            out.write(fetched.wav)
    except OSError as err:
        print(f"error: --out {args.out}: {err.strerror}", file=sys.stderr)
        return 1
    seconds = _seconds(fetched.wav)
    if args.output == "json":
        print_data({"file": args.out, "copy": fetched.copy, "from": fetched.source,
                    "container": fetched.container, "seconds": seconds}, "json")  # fmt: skip
    else:
        print(f"wrote {args.out}: {seconds} s, copy {fetched.copy}, from {fetched.source}")
    return 0


def _seconds(data: bytes) -> float:
    import io
    import wave

    with wave.open(io.BytesIO(data)) as w:
        return round(w.getnframes() / w.getframerate(), 2)


def _is_day(text: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
