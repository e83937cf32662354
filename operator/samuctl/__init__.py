"""samuctl: the one command line for everything a person runs on samu-platform."""
