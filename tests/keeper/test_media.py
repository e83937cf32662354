"""The keeper's rtpengine driver: a dead rtpengine costs one call the timeout, not every call."""

import socket
import time

import pytest

from samu_keeper.media import Keys, Media
from samu_rtpengine.ng import NgClient, NgError


def test_after_an_unanswered_offer_new_calls_skip_rtpengine_for_a_while():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # takes the commands, answers none
        media = Media(
            NgClient("127.0.0.1", silent.getsockname()[1], timeout=0.2, retries=0), backoff_s=0.5
        )
        keys = Keys("c-1", "caller", "keeper")
        start = time.monotonic()
        with pytest.raises(NgError, match="no answer"):
            media.offer(keys, "v=0", meta="tenant:samu-30")
        assert time.monotonic() - start >= 0.2
        start = time.monotonic()
        with pytest.raises(NgError, match="skipped"):
            media.offer(Keys("c-2", "caller", "keeper"), "v=0", meta="tenant:samu-30")
        assert time.monotonic() - start < 0.05  # at once
        # a call already anchored (a rescue's re-offer: no metadata) still asks rtpengine
        with pytest.raises(NgError, match="no answer"):
            media.offer(keys, "v=0")
        time.sleep(0.5)
        with pytest.raises(NgError, match="no answer"):  # tried again after the back-off
            media.offer(Keys("c-3", "caller", "keeper"), "v=0", meta="tenant:samu-30")
