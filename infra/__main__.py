"""Pulumi entry point (`pulumi up --stack prod`): the program lives in samu_infra.program."""

from samu_infra.program import main

main()
