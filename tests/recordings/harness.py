"""The shipper in the lab and the store read back, now in the call lab package
(``samu_lab.shipper``)."""

from samu_lab.shipper import (  # noqa: F401
    ShipperProcess,
    ShipperThread,
    chunks_of,
    log,
    objects,
    read_wav,
    rtp_sequences,
    shipper_env,
    wait_for,
)
