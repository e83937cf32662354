"""rtpengine's ng control protocol (bencode over UDP): a small client shared by the edge's
Python parts that drive rtpengine (the recording tests, the call keeper). It imports none of
them, so neither depends on the other through it."""
