"""One module per samuctl command group."""
