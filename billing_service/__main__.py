"""Command line: ``python -m billing_service serve|seed [--fresh]``."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.orm import Session

from .app import create_app
from .database import create_billing_engine, create_schema
from .schema import Base
from .seed import seed_demo
from .settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    seed = commands.add_parser("seed", help="add the demo customers")
    seed.add_argument(
        "--fresh",
        action="store_true",
        help="drop every table first (loses all billing data)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    try:
        settings = Settings.from_env()
    except SettingsError as problem:
        print(f"billing service: {problem}", file=sys.stderr)
        return 2
    engine = create_billing_engine(settings.database_url)

    if args.command == "seed":
        if args.fresh:
            Base.metadata.drop_all(engine)
        create_schema(engine)
        with Session(engine) as session, session.begin():
            added = seed_demo(session)
        print("seeded: " + (", ".join(added) if added else "nothing new"))
        return 0

    create_schema(engine)
    app = create_app(settings, engine)
    app.run(
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        motd=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
