"""The operator's side of the SIP edge: write the routing files, reload Kamailio over RPC,
collect the records of calls dropped with their PBX."""
