"""`./gracious run`: seed the demo, start every process, chat, stop them together.

Embedded defaults only (SQLite files under var/, an in-process lock store),
so a fresh machine needs nothing but Python 3.10. Logs go to var/log/. The
tests start the same processes through the same functions.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from scripts.processes import ROOT, ServiceProcess, python_module
from scripts.quick_start import (
    CONFIG,
    KEY_VARIABLE,
    MODEL,
    FullModelTraining,
    model_key,
    needs_training,
    train,
    train_command,
    train_quick_model,
)

LOGS = ROOT / "var" / "log"
RASA = [sys.executable, "-m", "rasa"]
DEMO = """
Demo customers (reference billing service on {billing}):
  email             phone          card last 4  subscriptions
  ana@example.com   +15555550100   4242         Premium (monthly)
  ben@example.com   +15555550101   1881         Premium + Family add-on
  cara@example.com  +15555550102   0005         Premium yearly (no offer: took one)
"""


def shown(path: Path) -> str:
    """``path`` as the user typing in the project's folder would write it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def choose_model(
    env: dict[str, str], key: str
) -> tuple[Path, Optional[FullModelTraining]]:
    """Return the model to start on, and the full training still to run, if any.

    With the full model trained for this data and config, that model (its
    archive brought up to date, in seconds). Otherwise the quick model now,
    and the full one trained in the background (scripts/quick_start.py).
    """
    print("gracious: checking whether the model needs training ...", flush=True)
    if not needs_training(env):
        train_if_needed(env)
        return MODEL, None
    log = LOGS / "train-quick.log"
    print(
        "gracious: training a quick model first (one classifier; 6-15 minutes "
        f"on 2 cores; see {shown(log)}). The full model trains after it, "
        "in the background, and takes over the chat when it is ready.",
        flush=True,
    )
    quick = train_quick_model(env, log)
    rasa_url = "http://127.0.0.1:5005"
    return quick, FullModelTraining(env, LOGS / "train.log", rasa_url, key)


def train_if_needed(env: dict[str, str]) -> None:
    """Train the model unless one exists for exactly this data and config."""
    log = LOGS / "train.log"
    print(f"gracious: bringing the model up to date (see {shown(log)})", flush=True)
    train(train_command(CONFIG, MODEL), env, log, "the model")


def start_billing(env: dict[str, str], logs: Path, port: int) -> ServiceProcess:
    process = ServiceProcess(
        python_module("billing_service", "serve"),
        {**env, "BILLING_PORT": str(port)},
        logs / "billing.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    process.wait_healthy()
    return process


def start_actions(env: dict[str, str], logs: Path, port: int) -> ServiceProcess:
    process = ServiceProcess(
        [*RASA, "run", "actions", "--actions", "actions", "--port", str(port)],
        env,
        logs / "actions.log",
        f"http://127.0.0.1:{port}/health",
    )
    process.wait_healthy(120)
    return process


def start_retry_worker(env: dict[str, str], logs: Path) -> ServiceProcess:
    """Completes cancellations billing could not take at the time (bot/pending.py)."""
    return ServiceProcess(
        python_module("bot.retry_worker"), env, logs / "retry_worker.log", ""
    )


def start_rasa(
    env: dict[str, str], logs: Path, port: int, model: Path = MODEL
) -> ServiceProcess:
    process = ServiceProcess(
        [
            *RASA,
            "run",
            "--model",
            str(model),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
        ],
        env,
        logs / "rasa.log",
        # The channel's route exists once the model is loaded and serving.
        f"http://127.0.0.1:{port}/webhooks/rest/",
    )
    process.wait_healthy(300)
    return process


def chat(
    rasa_url: str,
    sender: str,
    identity: Optional[dict[str, str]],
    notes: Callable[[], list[str]] = list,
) -> None:
    """Chat in the terminal over the REST channel, as a customer would.

    ``notes`` are the stack's own news (the full model took over), printed
    after the bot's replies rather than into the line being typed.
    """
    import requests

    headers = {}
    metadata = {}
    if identity:
        headers["X-Gracious-Identity-Key"] = os.environ["GRACIOUS_REST_IDENTITY_KEY"]
        metadata["identity"] = identity
    who = f"{identity['kind']} {identity['value']}" if identity else "anonymous"
    print(f"Chatting as {who}. Type a message; Ctrl-D or /quit to stop.\n")
    while True:
        try:
            text = input("you> ")
        except EOFError:
            return
        if text.strip() == "/quit":
            return
        reply = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata},
            headers=headers,
            timeout=30,
        )
        for message in reply.json():
            if message.get("text"):
                print(f"bot> {message['text']}")
            for button in message.get("buttons") or []:
                print(f"     [{button['title']}] (type: {button['payload']})")
        for note in notes():
            print(f"(gracious: {note})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./gracious run")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="reset the demo billing data before starting",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--phone", help="chat as this SMS sender, e.g. +15555550100")
    who.add_argument("--customer-id", help="chat as a logged-in customer, e.g. cus_ana")
    parser.add_argument(
        "--no-chat", action="store_true", help="only run the servers (Ctrl-C to stop)"
    )
    args = parser.parse_args(argv)

    from bot.settings import rasa_environment

    LOGS.mkdir(parents=True, exist_ok=True)
    env = rasa_environment()
    env.setdefault("BILLING_URL", "http://127.0.0.1:5100")
    # The widget's demo page and its demo login are for this local stack only.
    env.setdefault("GRACIOUS_DEMO_PAGE", "1")
    fresh = ["--fresh"] if args.fresh else []
    seed = python_module("billing_service", "seed", *fresh)
    if subprocess.call(seed, cwd=ROOT, env=env) != 0:
        raise SystemExit("gracious: seeding the billing database failed (see above)")
    # Ctrl-C and a service manager's TERM both stop every process cleanly,
    # also when started in the background (where SIGINT starts out ignored),
    # a training in the foreground included.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # The key of Rasa's model route (the operator's, or one for this run):
    # Rasa's environment only.
    key = model_key(env)
    try:
        model, full_training = choose_model(env, key)
    except KeyboardInterrupt:  # Ctrl-C while training: nothing runs yet
        print("\ngracious: stopped while training; finished steps stay cached")
        return 130

    running: list[ServiceProcess] = []
    try:
        running.append(start_billing(env, LOGS, int(env.get("BILLING_PORT") or 5100)))
        running.append(start_actions(env, LOGS, 5055))
        running.append(start_retry_worker(env, LOGS))
        running.append(start_rasa({**env, KEY_VARIABLE: key}, LOGS, 5005, model))
        notes: Callable[[], list[str]] = list
        if full_training is not None:
            full_training.start()
            notes = full_training.take_notes
            print(
                "gracious: the quick model answers; the full model is training "
                f"(see {shown(LOGS / 'train.log')})"
            )
        print(DEMO.format(billing=env["BILLING_URL"]))
        print("Rasa REST webhook: http://127.0.0.1:5005/webhooks/rest/webhook")
        print("Web widget demo:   http://127.0.0.1:5005/webhooks/widget/demo")
        print(f"Logs: {shown(LOGS)}/\n")
        if args.no_chat or not sys.stdin.isatty():
            print("Servers running. Press Ctrl-C to stop.")
            while all(p.process.poll() is None for p in running):
                for note in notes():
                    print(f"gracious: {note}", flush=True)
                time.sleep(1)
            print("gracious: a process stopped; see var/log/.", file=sys.stderr)
            return 1
        identity = None
        if args.phone:
            identity = {"kind": "phone", "value": args.phone}
        elif args.customer_id:
            identity = {"kind": "customer_id", "value": args.customer_id}
        sender = f"terminal-{os.getpid()}-{int(time.time())}"
        chat("http://127.0.0.1:5005", sender, identity, notes)
        return 0
    except KeyboardInterrupt:
        return 0
    except RuntimeError as error:  # a port taken, a service that did not start
        print(f"gracious: {error}", file=sys.stderr)
        return 1
    finally:
        # a second Ctrl-C must not leave the rest running
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if full_training is not None:
            if full_training.running():
                print("gracious: the full model's training stops; the next run goes on")
            full_training.stop()
        for process in reversed(running):
            process.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
