"""rtpengine driven over ng with Python callers, now in the call lab package (``samu_lab.ngcall``)."""

from samu_lab.ngcall import (  # noqa: F401
    RTPENGINE,
    Call,
    Rtpengine,
    sdp,
    udp_port_free,
)
