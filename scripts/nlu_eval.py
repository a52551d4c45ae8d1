#!/usr/bin/env python
"""Evaluate a trained Gracious NLU model on a held-out set (tests/nlu/).

Usage:
    python scripts/nlu_eval.py [MODEL.tar.gz] [--data tests/nlu/heldout.yml ...]
        [--min-cancel-recall 0.97] [--max-false-cancel 0.01]
        [--min-recall affirm=0.95,deny=0.95] [--training data/nlu] [--quiet]

Held-out messages that the training data holds too (up to case and
punctuation) are left out of the scores, and their number is printed.
Prints per-intent precision/recall/F1/support, accuracy, cancel_subscription
recall, the false-cancel rate (share of messages whose true intent is not
cancel_subscription that were predicted as cancel_subscription) and, unless
--quiet, every misclassified message. With several --data sets the scores
are pooled over all their messages (one line per set as well), and the
targets apply to the pool: a few hundred messages per set make one message
0.3-0.6 points, a pool of three sets a third of that. Exits 1 when a given
target is missed.
nlu_fallback counts as a wrong answer for every intent except out_of_scope.
"""

import argparse
import asyncio
import logging
import math
import os
import re
import sys
from collections import Counter

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot.notes import (  # found through the path above
    ASK_IF_CANCEL,
    CANCEL_GUARD,
    CANCEL_SECOND_OPINION,
)

CANCEL = "cancel_subscription"
OOS = "out_of_scope"
FALLBACK = "nlu_fallback"


def same_message(text):
    """Return the form two messages share when only case or punctuation differ."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def load_messages(path, training):
    """Return the held-out messages the training data does not hold too.

    Everyone writes "yes please" and "cancel my subscription"; a held-out
    message the training data has as well (up to case and punctuation)
    measures memory, not generalisation, so it is left out of the scores.
    Returns (messages, how many were left out).
    """
    from rasa.shared.nlu.training_data.loading import load_data

    trained = {same_message(m.get("text")) for m in load_data(training).intent_examples}
    held_out = load_data(path).intent_examples
    kept = [m for m in held_out if same_message(m.get("text")) not in trained]
    return kept, len(held_out) - len(kept)


# Public intent corpora are often written all in lower case without
# sentence punctuation ("i need to cancel my membership"): the same messages
# in that form tell whether the model leans on case or punctuation.
SENTENCE_PUNCTUATION = re.compile(r"[.,!?;:]+(?=\s|$)")


def in_public_corpus_style(text):
    """Return the message lower-cased, without sentence punctuation."""
    return " ".join(SENTENCE_PUNCTUATION.sub(" ", text.lower()).split())


def annotated_entities(message):
    """Return the (entity, value) pairs of a message or a parse result."""
    return {
        (e["entity"], str(e["value"]).lower()) for e in message.get("entities") or []
    }


async def predict(model_path, texts):
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(t) for t in texts]


def score(gold, pred):
    """gold/pred: lists of intent names. Returns per-intent rows and summary."""
    # predicting nlu_fallback for an out-of-scope message is right
    pred = [
        OOS if p == FALLBACK and g == OOS else p
        for g, p in zip(gold, pred, strict=True)
    ]
    rows = {}
    for intent in sorted(set(gold)):
        tp = sum(g == p == intent for g, p in zip(gold, pred, strict=True))
        n_pred = sum(p == intent for p in pred)
        n_gold = sum(g == intent for g in gold)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        rows[intent] = (prec, rec, f1, n_gold)
    non_cancel = [p for g, p in zip(gold, pred, strict=True) if g != CANCEL]
    summary = {
        "accuracy": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
        "cancel_recall": rows.get(CANCEL, (0, 0, 0, 0))[1],
        "n_cancel_found": sum(
            g == p == CANCEL for g, p in zip(gold, pred, strict=True)
        ),
        "n_cancel": sum(g == CANCEL for g in gold),
        "false_cancel": sum(p == CANCEL for p in non_cancel) / max(1, len(non_cancel)),
        "n_false_cancel": sum(p == CANCEL for p in non_cancel),
        "n_non_cancel": len(non_cancel),
    }
    return rows, summary, pred


def interval(hits, n, z=1.96):
    """Return the 95% Wilson score interval of hits/n, as text.

    It says how far a figure can be trusted: in a set of a few hundred
    messages one message moves a rate by 0.3-0.6 points.
    """
    if n == 0:
        return "n/a"
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{max(0.0, centre - half):.3f}-{min(1.0, centre + half):.3f}"


def print_per_set(sets, gold, pred):
    """One line per set of a pool: its cancel recall and false cancels."""
    start = 0
    for path, (kept, _) in sets.items():
        end = start + len(kept)
        _, s, _ = score(gold[start:end], pred[start:end])
        print(
            f"{path}: {len(kept)} scored, cancel recall {s['cancel_recall']:.3f}, "
            f"false cancels {s['n_false_cancel']}/{s['n_non_cancel']}"
        )
        start = end
    print()


def print_vote_members(gold, results):
    """Print each voting classifier's own cancel figures (before the rules).

    The parse result's ``intent_vote`` lists the members' top answers
    (bot/nlu/vote.py); a model without a vote has none and prints nothing.
    """
    ballots = [r.get("intent_vote") or [] for r in results]
    members = max(map(len, ballots), default=0)
    if members < 2:
        return
    n_cancel = gold.count(CANCEL)
    figures = []
    for i in range(members):
        said = [b[i]["name"] if len(b) > i else None for b in ballots]
        found = sum(
            g == CANCEL and s == CANCEL for g, s in zip(gold, said, strict=True)
        )
        false = sum(
            g != CANCEL and s == CANCEL for g, s in zip(gold, said, strict=True)
        )
        figures.append(f"{i + 1}: {found}/{n_cancel} found, {false} false")
    split = sum(len({m["name"] for m in b}) > 1 for b in ballots)
    print(f"vote members, cancels before the rules: {'; '.join(figures)}")
    print(f"vote members disagreed on: {split} messages")


def quiet_rasa_logs():
    """Keep Rasa's per-message log lines out of what is printed."""
    logging.disable(logging.WARNING)
    import structlog  # rasa logs every parse at debug level through structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING)
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "model", nargs="?", help="model archive (default: newest in models/)"
    )
    ap.add_argument(
        "--data",
        nargs="+",
        default=["tests/nlu/heldout.yml"],
        help="one or more held-out sets; several are scored as one pool",
    )
    ap.add_argument(
        "--training",
        default="data/nlu",
        help="messages also found here are left out of the scores",
    )
    ap.add_argument("--min-cancel-recall", type=float)
    ap.add_argument("--max-false-cancel", type=float)
    ap.add_argument("--min-recall", default="", help="e.g. affirm=0.95,deny=0.95")
    ap.add_argument(
        "--quiet", action="store_true", help="do not list misclassified messages"
    )
    ap.add_argument(
        "--lower",
        action="store_true",
        help="score the messages lower-cased, without sentence punctuation",
    )
    args = ap.parse_args(argv)
    quiet_rasa_logs()

    model = args.model
    if model is None:
        from rasa.model import get_latest_model

        model = get_latest_model("models")
        if model is None:
            ap.error("no model given and none found in models/")
    if not os.path.isfile(model):
        # Agent.load would silently pick the newest model in a directory instead
        ap.error(f"no model archive at {model}")
    sets = {path: load_messages(path, args.training) for path in args.data}
    messages = [m for kept, _ in sets.values() for m in kept]
    left_out = sum(n for _, n in sets.values())
    examples = [(m.get("text"), m.get("intent")) for m in messages]
    texts = [t for t, _ in examples]
    if args.lower:
        texts = [in_public_corpus_style(t) for t in texts]
    gold = [i for _, i in examples]
    results = asyncio.run(predict(model, texts))
    pred = [r["intent"]["name"] for r in results]
    rows, s, pred = score(gold, pred)

    print(
        f"model: {model}\ndata:  {' + '.join(args.data)} ({len(gold)} messages "
        f"scored; {left_out} left out: the training data has them too)"
        + ("\nstyle: lower case, no sentence punctuation" if args.lower else "")
        + "\n"
    )
    if len(sets) > 1:
        print_per_set(sets, gold, pred)
    print(f"{'intent':<22}{'prec':>7}{'recall':>8}{'f1':>7}{'support':>9}")
    for intent, (p, r, f, n) in rows.items():
        print(f"{intent:<22}{p:>7.3f}{r:>8.3f}{f:>7.3f}{n:>9}")
    print(f"\naccuracy:                {s['accuracy']:.3f}")
    print(
        f"cancel_subscription recall: {s['cancel_recall']:.3f} "
        f"({s['n_cancel_found']}/{s['n_cancel']}; 95% interval "
        f"{interval(s['n_cancel_found'], s['n_cancel'])})"
    )
    print(
        f"false-cancel rate:       {s['false_cancel']:.4f} "
        f"({s['n_false_cancel']}/{s['n_non_cancel']}; 95% interval "
        f"{interval(s['n_false_cancel'], s['n_non_cancel'])})"
    )
    missed = Counter(
        p for g, p in zip(gold, pred, strict=True) if g == CANCEL and p != CANCEL
    )
    false_c = Counter(
        g for g, p in zip(gold, pred, strict=True) if g != CANCEL and p == CANCEL
    )
    print(f"cancel misses went to:   {dict(missed)}")
    print(f"false cancels came from: {dict(false_c)}")
    gold_ents = [annotated_entities(m) for m in messages]
    got_ents = [annotated_entities(r) for r in results]
    tp = sum(len(g & p) for g, p in zip(gold_ents, got_ents, strict=True))
    n_got, n_gold = sum(map(len, got_ents)), sum(map(len, gold_ents))
    print(f"entities (card_last4, email): {tp}/{n_gold} found, {n_got - tp} spurious")
    # ask_if_cancel marks out-of-scope answers the bot turns into "do you want
    # to cancel?": its real cancel requests are misses a "yes" recovers
    for note, name in (
        (CANCEL_GUARD, "cancel guard"),
        (CANCEL_SECOND_OPINION, "second opinion"),
        (ASK_IF_CANCEL, "ask if cancel"),
    ):
        fired = [g for g, r in zip(gold, results, strict=True) if note in r]
        print(
            f"{name + ' fired on:':<25}{len(fired)} messages "
            f"({fired.count(CANCEL)} of them real cancel requests)"
        )
    print_vote_members(gold, results)

    if not args.quiet:
        print("\nmisclassified (gold -> predicted, confidence):")
        for (t, g), p, r in zip(examples, pred, results, strict=True):
            if g != p:
                print(f"  {g:>20} -> {p:<20} {r['intent']['confidence']:.2f}  {t}")

    failures = []
    if (
        args.min_cancel_recall is not None
        and s["cancel_recall"] < args.min_cancel_recall
    ):
        failures.append(
            f"cancel recall {s['cancel_recall']:.3f} < {args.min_cancel_recall}"
        )
    if args.max_false_cancel is not None and s["false_cancel"] > args.max_false_cancel:
        failures.append(
            f"false-cancel {s['false_cancel']:.4f} > {args.max_false_cancel}"
        )
    for item in filter(None, args.min_recall.split(",")):
        intent, target = item.split("=")
        rec = rows.get(intent.strip(), (0, 0, 0, 0))[1]
        if rec < float(target):
            failures.append(f"{intent} recall {rec:.3f} < {target}")
    for f in failures:
        print(f"TARGET MISSED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
