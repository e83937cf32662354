"""samuctl as a user meets it: mistakes, scaffolding, status, completion."""
