"""``python -m samu_keeper``: the call keeper daemon (also the ``samu-keeper`` console script).

Settings come from ``SAMU_KEEPER_*`` environment variables; each may also be given as a flag
(``--rtpengine 127.0.0.1:2223`` for ``SAMU_KEEPER_RTPENGINE``). Exit 2 on a bad setting.
"""

import argparse
import logging
import os
import sys
from dataclasses import fields

from samu_keeper.settings import Settings, SettingsError, from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="samu-keeper",
        description="The SAMU call keeper: a B2BUA that keeps answered calls through the loss of their PBX.",
        epilog="Every flag is also the environment variable SAMU_KEEPER_<FLAG> (upper case, '_' for '-').",
    )
    for field in fields(Settings):
        parser.add_argument("--" + field.name.replace("_", "-"), dest=field.name, metavar="VALUE")
    parser.add_argument("--log-level", default=os.environ.get("SAMU_KEEPER_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    env = dict(os.environ)
    for field in fields(Settings):
        value = getattr(args, field.name)
        if value is not None:
            env[f"SAMU_KEEPER_{field.name.upper()}"] = value
    try:
        settings = from_env(env)
    except SettingsError as exc:
        print(f"samu-keeper: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    from samu_keeper.daemon import Keeper  # sippy only once the settings are good

    Keeper(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
