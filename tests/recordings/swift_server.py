"""The Swift server launcher, now ``python -m samu_lab.swift_server``."""

from samu_lab.swift_server import (  # noqa: F401
    DictCache,
    dict_cache_filter,
    main,
)
