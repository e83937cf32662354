"""Pure decisions of the recording shipper: plain data in, plain data out, no I/O."""
