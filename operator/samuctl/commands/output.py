"""Shared output helpers: every command that prints data offers --output text|json|yaml."""

import argparse
import json
import sys
from typing import Any


def add_output_flag(
    parser: argparse.ArgumentParser, *, choices: tuple[str, ...] = ("text", "json")
) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=choices,
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def print_data(data: Any, fmt: str) -> None:
    """Print machine-readable data as JSON or YAML on stdout."""
    if fmt == "json":
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False, sort_keys=False)
        sys.stdout.write("\n")
    elif fmt == "yaml":
        import yaml

        yaml.safe_dump_all(
            data if isinstance(data, list) else [data],
            sys.stdout,
            sort_keys=False,
            allow_unicode=True,
        )
    else:
        raise ValueError(f"not a data format: {fmt}")
