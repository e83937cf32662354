"""The call keeper: a back-to-back user agent at the edge that owns the caller's dialog.

``core`` holds its decisions as pure functions over plain data (when a PBX leg is dead, what
a rescue does, how a call's state is replicated); the SIP and rtpengine shells wrap them.
"""
