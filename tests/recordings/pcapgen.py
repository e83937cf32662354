"""rtpengine-like pcap writer, now in the call lab package (``samu_lab.pcapgen``)."""

from samu_lab.pcapgen import (  # noqa: F401
    CALLER_PORT,
    CENTRE_PORT,
    call_pcap,
    global_header,
    record,
)
