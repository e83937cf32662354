"""Pure decisions of the operator: desired objects, failover choice, routing tables."""
