# ruff: noqa: RUF001  (multilingual test data: Cyrillic, Greek and CJK letters are meant)
from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path

import pytest

from pytest_llmeval.checks import CheckInputError
from pytest_llmeval.checks.garbled import (
    SIGNALS,
    bad_characters,
    character_run,
    compression_ratio,
    glued_words,
    high_perplexity,
    mojibake,
    non_words,
    not_garbled,
    repeated_ngrams,
    repetition_loop,
    script_switches,
    wrong_script,
)
from pytest_llmeval.checks.result import SIZE_LIMITS

CORPUS = Path(__file__).parent.parent / "data" / "garbled" / "corpus.jsonl"
HARD_KINDS = (
    "code_",
    "regex",
    "table",
    "list",
    "math",
    "numbers",
    "url",
    "lang_",
    "short",
    "prose_hard",
    "bbh_",
)

PROSE = (
    "The water cycle describes how water evaporates from oceans and lakes, condenses into clouds, "
    "and falls back to the ground as rain or snow. Rivers then carry much of it back to the sea, "
    "while some soaks into the soil and feeds plants and underground aquifers."
)


# ----- each signal, firing and quiet -----


def test_repetition_loop_finds_a_repeated_sentence() -> None:
    loop = "Sure! " + "I love to read books about dragons. " * 6
    found = repetition_loop(loop)
    assert found is not None and found.signal == "repetition"
    assert found.reason.startswith("the same 7-token phrase repeats 6 times in a row")
    assert found.evidence[0] == "I love to read books about dragons."
    assert found.evidence[1].startswith("I love to read books about dragons. I love")
    assert repetition_loop(PROSE) is None


def test_repetition_loop_sees_numbered_list_loops_but_not_number_rows() -> None:
    numbered = "\n".join(f"{n}. The cat is a very good cat." for n in range(1, 9))
    found = repetition_loop(numbered)
    assert found is not None and "repeats 8 times" in found.reason
    assert found.evidence[0] == "1. The cat is a very good cat."
    table = "\n".join(f"| {n} | 0 | 0 | 0 |" for n in range(20))
    assert repetition_loop(table) is None
    assert repetition_loop('"No, no, no, no," she said. "Not that one."') is None
    punctuation_loop = "Symbols allowed: " + "*, " * 40
    assert repetition_loop(punctuation_loop) is not None  # no word, but it runs on and on


def test_repeated_ngrams_on_a_loop_with_variations() -> None:
    story = " ".join(
        f"On day {n} the knight rode to the old castle on the hill and asked the king for bread."
        for n in range(8)
    )
    found = repeated_ngrams(story)
    assert found is not None and found.signal == "repeated_ngrams"
    assert "of its 8-word spans repeat earlier ones" in found.reason
    assert found.evidence == ("the knight rode to the old castle on",)
    assert repeated_ngrams(PROSE * 1) is None
    feature_table = "\n".join(f"| {f} | Yes | Yes | Yes | Yes |" for f in "abcdefghijklmnop")
    assert repeated_ngrams(feature_table) is None  # short repeated cells are a table, not a loop


def test_character_run() -> None:
    found = character_run("Wow that is great!!!!!!!!!!!!")
    assert found is not None and found.reason == "'!' repeats 12 times in a row"
    assert found.evidence == ("!!!!!!!!!!!!",)
    assert character_run("aaaaaaaaaaaaaaaa") is not None
    lines = character_run("Answer:" + "\n" * 30 + "ok")
    assert lines is not None and lines.reason == "30 line breaks in a row"
    stutter = character_run("x lessnesslessnesslessnesslessnesslessness y")
    assert stutter is not None and stutter.reason == "'lessness' repeats 5 times inside one word"
    assert character_run("Wait... what?! Really?!!") is None
    assert character_run("Title\n=====\n\n| a | b |\n|---|---|\n" + "-" * 60) is None
    assert character_run("Hahahaha, good one. 0.30000000000000004") is None


def test_compression_ratio() -> None:
    repeated = "The model repeats this sentence again and again. " * 40
    found = compression_ratio(repeated)
    assert found is not None and found.signal == "compression"
    assert found.reason == "zlib compresses it to 4% of its size (prose, code and tables: over 10%)"
    assert compression_ratio(PROSE + " " + HARD_NEGATIVES["python"] + " " + HARD_NEGATIVES["table"]) is None
    assert compression_ratio("short text " * 10) is None  # too short to judge


def test_bad_characters() -> None:
    found = bad_characters("The answer is \ufffd\ufffd 42.")
    assert found is not None and "2 damaged character(s)" in found.reason
    assert "U+FFFD REPLACEMENT CHARACTER" in found.reason
    assert found.evidence == ("The answer is \\ufffd\\ufffd 42.", "The answer is \\ufffd\\ufffd 42.")
    nul = bad_characters("padding\x00\x00\x00")
    assert nul is not None and "U+0000" in nul.reason
    assert bad_characters("tab\tand newline\n and \x1b[32mgreen\x1b[0m") is None


def test_mojibake() -> None:
    broken = "Janet’s ducks lay 16 eggs – café au lait".encode().decode("cp1252")
    found = mojibake(broken)
    assert found is not None and "mojibake" in found.reason and "ftfy" in found.reason
    assert "Janet" in found.evidence[0]
    assert mojibake("Janet’s ducks lay 16 eggs – café au lait, 5 €") is None
    assert mojibake("Grüße aus München, Ελλάδα, Москва, 東京") is None


def test_mojibake_search_near_non_ascii_finds_what_a_full_search_finds() -> None:
    from ftfy.badness import BADNESS_RE

    from pytest_llmeval.checks.garbled_characters import _mojibake_matches

    # The window reasoning rests on ftfy's pattern: no match longer than the reach.
    assert re._parser.parse(BADNESS_RE.pattern, BADNESS_RE.flags).getwidth()[1] < 8  # type: ignore[attr-defined]
    pieces = [
        "café".encode().decode("cp1252"),
        "don’t".encode().decode("cp1252"),
        "Привет".encode().decode("cp1252", errors="replace"),
        " Ã© ",
        "plain ascii text ",
        "Grüße ",
        "—",
        "\n",
    ]
    rng = random.Random(3)
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    texts += ["".join(rng.choices(pieces, k=rng.randint(1, 40))) for _ in range(500)]
    for text in texts:
        full = [m.span() for m in BADNESS_RE.finditer(text)]
        assert [m.span() for m in _mojibake_matches(text)] == full, text[:80]


def test_script_switches() -> None:
    soup = "The weatherпогода isκαλός niceдень andहम sunnyday today my friend"
    found = script_switches(soup)
    assert found is not None and found.reason.startswith("4 script switches inside words among its 9 words")
    assert found.evidence[:2] == (
        "weather\\u043f\\u043e\\u0433\\u043e\\u0434\\u0430",
        "is\\u03ba\\u03b1\\u03bb\\u03cc\\u03c2",
    )
    assert script_switches("学习Python的第一步是安装解释器。ありがとう, спасибо, شكرا") is None


def test_non_words() -> None:
    soup = "aniedsarmaceut liftchimandy presbymiasmaoplastorg intrinsicallyiphnuj gravmat coreclick"
    found = non_words(soup + " blah " + soup)
    assert found is not None and found.signal == "non_words"
    assert found.reason == "only 8% of its 13 words are en words (wanted at least 50%)"
    assert found.evidence[0].startswith("aniedsarmaceut liftchimandy")
    salad = (  # a random-weight model's sample: real words and word pieces, no function words
        "forts pendulum amounted ruins circaeared worst arraysjav Seriesogeneity iland dismay alone opinions "
        "beetles entertain Phoen fiction automate normalization components apologyinis rush Classic "
        "vaginalundred Representative shakespeare Wayneblank mountains Spartacommunication"
    )
    tossed = non_words(salad)
    assert tossed is not None
    assert tossed.reason == (
        "a word salad: 68% of its words are en words, but only 0% are function words like the, and, of "
        "(sentences: over 10%)"
    )
    real_words_only = "forts pendulum amounted ruins worst arrays dismay alone opinions beetles entertain"
    assert non_words(real_words_only) is None  # known words without grammar: the perplexity signal's job
    assert non_words(PROSE) is None
    assert non_words("Москва — столица России и крупнейший город страны, в центре которой Кремль.") is None
    assert non_words("Paris is nice.") is None  # too few words to judge


def test_glued_words() -> None:
    soup = (
        "The outright compensationIAL to elevated wage offerings suppliedSt a birthOther Compassion, "
        "which is RetrievedPro and the rhetoricalOPThighest of all the pests AdFoods absolute cheap "
        "and free for everyone"
    )
    found = glued_words(soup)
    assert found is not None and found.signal == "glued_words"
    assert found.reason.startswith("6 of its 28 words are run together without spaces")
    assert found.evidence == (
        "compensationIAL suppliedSt birthOther RetrievedPro rhetoricalOPThighest AdFoods",
    )
    brands = (
        "I use JavaScript, TypeScript and PostgreSQL with GitHub and YouTube on my iPhone and MacBook "
        "every day, together with PowerPoint, LinkedIn and WordPress for work and for my blog."
    )
    assert glued_words(brands) is None


def test_wrong_script_only_when_asked() -> None:
    answer = "Москва — столица России. Moscow is the capital of Russia and its largest city by far."
    found = wrong_script(answer, "Cyrillic")
    assert found is not None and "not Cyrillic (mostly Latin)" in found.reason
    assert found.evidence[0] == "Moscow"
    assert wrong_script("Москва — столица России и крупнейший город страны.", "cyrillic") is None
    assert not_garbled(answer).passed
    assert not not_garbled(answer, script="Cyrillic").passed


def test_perplexity_signal_uses_the_reference() -> None:
    text = "colorless green ideas sleep furiously while the quick brown fox jumps"
    found = high_perplexity(text, lambda t: 5000.0, 1000.0)
    assert (
        found is not None
        and found.reason == "perplexity 5000 under the reference model (at most 1000 wanted)"
    )
    assert high_perplexity(text, lambda t: 40.0, 1000.0) is None
    assert high_perplexity("Paris.", lambda t: 1e9, 1000.0) is None  # too short to judge
    result = not_garbled(text, reference=lambda t: 5000.0, max_perplexity=200)
    assert not result.passed and result.reason.startswith("perplexity:")


def test_result_names_the_signal_and_keeps_evidence_short() -> None:
    result = not_garbled("Hello there. " + "I am a robot and I like it. " * 30 + "x" * 200)
    assert not result.passed and result.name == "not_garbled"
    assert "repetition:" in result.reason and "character_run:" in result.reason
    assert result.evidence and all(len(span) <= 80 for span in result.evidence)
    ok = not_garbled(PROSE)
    assert ok.passed and ok.score == 1.0 and ok.reason == "no sign of degenerate text" and ok.evidence == ()


# ----- what must not be flagged -----

HARD_NEGATIVES = {
    "python": "def add(a, b):\n    return a + b\n\n\nassert add(1, 2) == 3\nassert add(2, 2) == 4\n",
    "json": '{"users": [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bo"}, {"id": 3, "name": "Cy"}]}',
    "sql": "SELECT name, COUNT(*) FROM orders GROUP BY name HAVING COUNT(*) > 3 ORDER BY 2 DESC;",
    "shell": "$ ls -la | grep '^d' | awk '{print $9}'\n$ tar -xzf data.tar.gz -C /tmp && echo ok",
    "regex": r"^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@example\.com$",
    "table": "| a | b | c |\n|---|---|---|\n" + "\n".join(f"| {i} | {i * i} | {i**3} |" for i in range(30)),
    "list": "\n".join(f"- item number {i}: {w}" for i, w in enumerate(["apples", "pears", "plums", "figs"])),
    "math": "∫₀^π sin(x) dx = [−cos(x)]₀^π = 2, and ∑_{k=1}^{n} k² = n(n+1)(2n+1)/6.",
    "numbers": ", ".join(str(n * 7) for n in range(200)),
    "url": "See https://example.com/a/b?c=1&d=2#frag and mailto:someone@example.org for details.",
    "french": "Le chat dort sur le canapé pendant que les enfants jouent dans le jardin avec leurs amis.",
    "chinese": "今天天气很好，我们一起去公园散步吧。公园里有很多花和树，空气也很新鲜。",
    "arabic": "ذهبت إلى السوق صباح اليوم واشتريت الخبز والحليب والفواكه الطازجة لعائلتي.",
    "hindi": "आज मौसम बहुत अच्छा है, इसलिए हम सब पार्क में घूमने जा रहे हैं।",
    "short": "42",
}


@pytest.mark.parametrize("text", HARD_NEGATIVES.values(), ids=HARD_NEGATIVES.keys())
def test_hard_negatives_pass(text: str) -> None:
    result = not_garbled(text)
    assert result.passed, result.reason


# ----- bad inputs -----


def test_empty_and_short_outputs_pass() -> None:
    for text in ("", " ", "Paris.", "Yes", "42", "(B)"):
        result = not_garbled(text)
        assert result.passed and result.reason == "no sign of degenerate text"


def test_lone_surrogates_are_reported_not_crashed_on() -> None:
    result = not_garbled("broken \ud800 text")
    assert not result.passed and "lone surrogate U+D800" in result.reason
    assert result.evidence == ("broken \\ud800 text",)
    assert not not_garbled(b"caf\xc3\xa9 ok".decode("utf-8") + "\udcc3").passed


def test_bytes_none_and_bad_options() -> None:
    assert not_garbled(b"The capital of France is Paris.").passed  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match="not_garbled: got None"):
        not_garbled(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown script 'Klingon'"):
        not_garbled("hello", script="Klingon")
    with pytest.raises(ValueError, match="max_perplexity must be a finite number above 1"):
        not_garbled("hello", max_perplexity=float("nan"))
    with pytest.raises(ValueError, match="reference must be a callable"):
        not_garbled("hello", reference="smollm2")  # type: ignore[arg-type]


def test_one_megabyte_is_fast() -> None:
    big = ((PROSE + "\n\n" + HARD_NEGATIVES["python"] + "\n") * (1_000_000 // (len(PROSE) + 80)))[
        : SIZE_LIMITS[
            "not_garbled"
        ]  # the most it reads; over it, it says it could not check
    ]
    not_garbled(PROSE)  # the word list loads once per process: not part of the per-text cost
    start = time.perf_counter()
    result = not_garbled(big)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{elapsed:.2f} s for {len(big)} chars"
    assert not result.passed and "repetition" in result.reason  # the same two paragraphs, over and over
    loop = "ab" * 500_000
    start = time.perf_counter()
    assert not not_garbled(loop).passed
    assert time.perf_counter() - start < 2.0


# ----- the calibration targets, on the held-out test split -----


def test_targets_on_the_test_split() -> None:
    items = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").split("\n") if line]
    test = [i for i in items if i["split"] == "test"]
    flagged = [not not_garbled(i["text"]).passed for i in test]
    tp = sum(f and i["label"] == "garbled" for i, f in zip(test, flagged, strict=True))
    fp = sum(f and i["label"] == "fluent" for i, f in zip(test, flagged, strict=True))
    fn = sum(not f and i["label"] == "garbled" for i, f in zip(test, flagged, strict=True))
    f1 = 2 * tp / (2 * tp + fp + fn)
    hard = [
        f
        for i, f in zip(test, flagged, strict=True)
        if i["label"] == "fluent" and i["kind"].startswith(HARD_KINDS)
    ]
    assert len(test) >= 200 and len(hard) >= 60
    assert f1 >= 0.95, f"F1 {f1:.3f} on the test split (tp={tp} fp={fp} fn={fn})"
    assert sum(hard) / len(hard) <= 0.02, f"{sum(hard)} of {len(hard)} hard negatives flagged"
    assert set(SIGNALS) >= {"repetition", "compression", "bad_characters", "mojibake", "non_words"}
