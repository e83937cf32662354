"""Runs one Swift server (proxy, account, container or object) of the loopback test store.

Swift reads ``/etc/swift/swift.conf`` at import whatever ``swift_dir`` says, so this launcher
points Swift's module-level path at the lab's own file and reloads the storage policies and
constraints before the server loads. Usage: ``python -m samu_lab.swift_server
SWIFT_DIR CONF SECTION``.
"""

import sys
from typing import Any


class DictCache:
    """The part of Swift's memcache client that tempauth and the proxy use, in one dict.

    Hand-written because the lab runs one proxy process (``workers = 0``): a memcached server
    would be one more process to start and stop for nothing.
    """

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, raise_on_error: bool = False) -> Any:
        return self.data.get(key)

    def set(self, key: str, value: Any, serialize: bool = True, time: int = 0, **_: Any) -> None:
        self.data[key] = value

    def incr(self, key: str, delta: int = 1, time: int = 0, **_: Any) -> int:
        self.data[key] = int(self.data.get(key) or 0) + delta
        return self.data[key]

    def decr(self, key: str, delta: int = 1, time: int = 0, **_: Any) -> int:
        return self.incr(key, -delta)

    def delete(self, key: str, **_: Any) -> None:
        self.data.pop(key, None)

    def get_multi(self, keys: list[str], server_key: str, **_: Any) -> list[Any]:
        return [self.data.get(k) for k in keys]

    def set_multi(self, mapping: dict[str, Any], server_key: str, **_: Any) -> None:
        self.data.update(mapping)


def dict_cache_filter(global_conf: dict, **local_conf: Any) -> Any:
    """Paste filter factory: puts one shared DictCache into every request's environment."""
    cache = DictCache()

    def factory(app: Any) -> Any:
        def middleware(env: dict, start_response: Any) -> Any:
            env["swift.cache"] = cache
            return app(env, start_response)

        return middleware

    return factory


def main(argv: list[str]) -> int:
    swift_dir, conf, section = argv
    from swift.common import utils

    utils.SWIFT_CONF_FILE = f"{swift_dir}/swift.conf"
    utils.HASH_PATH_PREFIX = b""
    utils.HASH_PATH_SUFFIX = b""
    utils.validate_configuration()
    from swift.common import constraints, storage_policy

    storage_policy.reload_storage_policies()
    constraints.reload_constraints()
    from swift.common.wsgi import run_wsgi

    return run_wsgi(conf, section, verbose=True) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
