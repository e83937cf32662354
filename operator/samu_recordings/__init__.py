"""Call recordings: the shipper that moves every call's recording, in chunks of at most 2 s,
from the edge (rtpengine pcap files) and the PBX (MixMonitor WAVs) to the tenant's Swift
container, the store client, and rtpengine's control protocol.

``core`` holds the pure decisions (chunks, object names, index entries, alert conditions);
the rest are thin shells around them.
"""
