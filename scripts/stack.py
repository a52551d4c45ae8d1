"""`./gracious run`: seed the demo, start every process, and stop them together.

Embedded defaults only (SQLite files under var/), so a fresh machine needs
nothing but Python 3.10. Logs go to var/log/.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from scripts.processes import ROOT, ServiceProcess, python_module

LOGS = ROOT / "var" / "log"
DEMO = """
Demo customers (reference billing service, http://127.0.0.1:{port}):
  email             phone          card last 4  subscriptions
  ana@example.com   +15555550100   4242         Premium (monthly)
  ben@example.com   +15555550101   1881         Premium + Family add-on
  cara@example.com  +15555550102   0005         Premium yearly (no offer: took one)
"""


def start_billing(env: dict[str, str]) -> ServiceProcess:
    seed = python_module("billing_service", "seed")
    if os.spawnve(os.P_WAIT, seed[0], seed, {**os.environ, **env}) != 0:
        raise SystemExit("gracious: seeding the billing database failed (see above)")
    port = env.get("BILLING_PORT", "5100")
    billing = ServiceProcess(
        python_module("billing_service", "serve"),
        env,
        LOGS / "billing.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    billing.wait_healthy()
    return billing


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./gracious run")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="reset the demo billing data before starting",
    )
    args = parser.parse_args(argv)
    LOGS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.fresh:
        seed = python_module("billing_service", "seed", "--fresh")
        os.spawnve(os.P_WAIT, seed[0], seed, env)

    running: list[ServiceProcess] = []
    try:
        running.append(start_billing(env))
        print(DEMO.format(port=env.get("BILLING_PORT", "5100")))
        print(f"Logs: {LOGS.relative_to(ROOT)}/. Press Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(p.process.poll() is None for p in running):
            time.sleep(1)
        print("gracious: a process stopped; see var/log/.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(running):
            process.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
