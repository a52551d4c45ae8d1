"""The NLU evaluation's arithmetic: pooled sets and the intervals it prints."""

from scripts.nlu_eval import (
    in_public_corpus_style,
    interval,
    print_per_set,
    print_vote_members,
    score,
)

CANCEL, OOS = "cancel_subscription", "out_of_scope"


def test_interval_matches_the_wilson_reference_values():
    # 0 of 10 and 10 of 10: the textbook Wilson bounds 0.278 / 0.722
    assert interval(0, 10) == "0.000-0.278"
    assert interval(10, 10) == "0.722-1.000"
    # the session-5 pooled false cancels: 14 of 792
    assert interval(14, 792) == "0.011-0.029"


def test_interval_of_an_empty_set_says_so():
    assert interval(0, 0) == "n/a"


def test_a_pool_is_scored_as_one_set_and_reported_per_set(capsys):
    gold = [CANCEL, CANCEL, OOS, OOS, CANCEL, OOS, OOS, OOS]
    pred = [CANCEL, OOS, CANCEL, OOS, CANCEL, OOS, "nlu_fallback", OOS]
    _, pooled, mapped = score(gold, pred)
    assert pooled["cancel_recall"] == 2 / 3
    assert (pooled["n_cancel_found"], pooled["n_cancel"]) == (2, 3)
    assert (pooled["n_false_cancel"], pooled["n_non_cancel"]) == (1, 5)
    # the fallback on an out-of-scope message counts as right
    assert mapped[6] == OOS

    # (messages kept, messages left out): only the number kept matters here
    sets = {"a.yml": ([None] * 4, 0), "b.yml": ([None] * 4, 2)}
    print_per_set(sets, gold, mapped)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a.yml: 4 scored, cancel recall 0.500, false cancels 1/2"
    assert lines[1] == "b.yml: 4 scored, cancel recall 1.000, false cancels 0/3"


def _voted(*members):
    return {"intent_vote": [{"name": m, "confidence": 0.9} for m in members]}


def test_each_vote_member_is_scored_before_the_rules(capsys):
    gold = [CANCEL, CANCEL, OOS]
    results = [
        _voted(CANCEL, CANCEL, CANCEL),
        _voted(OOS, CANCEL, CANCEL),
        _voted(CANCEL, OOS, OOS),
    ]
    print_vote_members(gold, results)
    assert capsys.readouterr().out.splitlines() == [
        "vote members, cancels before the rules: 1: 1/2 found, 1 false; "
        "2: 2/2 found, 0 false; 3: 2/2 found, 0 false",
        "vote members disagreed on: 2 messages",
    ]


def test_a_model_without_a_vote_prints_no_members(capsys):
    print_vote_members([CANCEL], [{"intent": {"name": CANCEL}}])
    assert capsys.readouterr().out == ""


def test_the_public_corpus_style_is_lower_case_without_sentence_punctuation():
    assert in_public_corpus_style("Cancel my Netflix, please!") == (
        "cancel my netflix please"
    )
    # punctuation inside a token stays: an email, an amount
    assert in_public_corpus_style("Email: Ana@Example.com. I paid 3.50?") == (
        "email ana@example.com i paid 3.50"
    )
