"""The call lab: real Kamailio, rtpengine, SIPp, Swift and the recording shipper on
127.0.0.0/8, each started and stopped by its owner.

Used by the tests and by ``samuctl drill --calls``; no product package imports it (an
import-linter contract says so). Every process gets its ports from the kernel and its own
files under the owner's directory, is tracked by its own PID and stopped by the object that
started it. SIPp scenarios ship with the package (``samu_lab/scenarios``).
"""
