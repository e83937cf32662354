"""The keeper's SIP side on the Sippy B2BUA library: one carrier-facing user agent and one
PBX-facing user agent per call, in sippy's event loop; decisions come from samu_keeper.core."""
