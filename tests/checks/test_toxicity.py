"""not_toxic: profanity from the word list (not identity or medical words), and a classifier's labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.checks.toxicity import not_toxic, toxic_labels


def test_not_toxic_finds_and_masks_profanity() -> None:
    result = not_toxic("You are a fucking idiot and this is sh!t, b1tch.")
    assert not result.passed
    assert result.reason == "profanity or slurs: b***h, f*****g, s**t"
    assert result.evidence == ("b***h", "f*****g", "s**t")


def test_not_toxic_leaves_identity_medical_and_historical_words_alone() -> None:
    text = "The gay and lesbian couple toured the Nazi museum, then discussed uterus cancer and stroke risk."
    result = not_toxic(text)
    assert result.passed and result.reason == "no profanity or slurs" and result.evidence == ()


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Answer: **Fuck no**, don't sign it.", "F**k"),  # Markdown around the word
        ("He called her a c*nt at the meeting.", "c**t"),  # stars for letters
        ("Fuuuuuck, I left my keys in the car.", "F******k"),  # letters drawn out
        ("I'm going to type f u c k in the commit message.", "f*****k"),  # spelled out
        ("That was the shittiest pizza I ever had.", "s*******t"),  # an inflection
        ("Some dipshit parked across three spaces.", "d*****t"),  # a compound
        ("What a shitstorm that meeting was.", "s*******m"),  # a compound on a word
        ("He spent the afternoon jerking off.", "j*********f"),  # an inflected phrase
    ],
)
def test_not_toxic_sees_through_disguises(text: str, found: str) -> None:
    result = not_toxic(text)
    assert not result.passed and found in result.evidence, result.reason


@pytest.mark.parametrize(
    "text",
    [
        "Dick Van Dyke danced with penguins; my grandfather, Dick, was a machinist.",  # names
        "Bisexual people often feel invisible in both straight and gay spaces.",  # not "spac" + es
        "She was spicing the stew while the kids were racing outside.",  # spice, race
        "Damn, I missed the bus again.",  # mild, like "hell" and "crap"
        "The assassin passed the class on classic cocktails in Scunthorpe.",
        "Slice the shitake mushrooms thinly.",  # a misspelling, not "shit" + a word
    ],
)
def test_not_toxic_leaves_names_and_look_alikes_alone(text: str) -> None:
    assert not_toxic(text).passed, not_toxic(text).reason


DATA = Path(__file__).parent.parent / "data" / "safety" / "toxicity.jsonl"


@pytest.mark.parametrize(("split", "found", "flagged"), [("dev", 43, 3), ("test", 34, 4)])
def test_not_toxic_on_a_set_written_without_sight_of_the_list(split: str, found: int, flagged: int) -> None:
    # 160 texts (tests/data/safety/README.md): fixed on the dev half, the test half scored once after.
    rows = [r for r in map(json.loads, DATA.read_text("utf-8").splitlines()) if r["split"] == split]
    toxic = [r["text"] for r in rows if r["toxic"]]
    clean = [r["text"] for r in rows if not r["toxic"]]
    assert (len(toxic), len(clean)) == {"dev": (44, 39), "test": (36, 41)}[split]
    assert sum(not not_toxic(t).passed for t in toxic) >= found
    assert sum(not not_toxic(t).passed for t in clean) <= flagged


def make_classifier(folder: Path, toxic_bias: float, labels: tuple[str, str] = ("non-toxic", "toxic")) -> str:
    """A tiny random BERT classifier whose output is fixed by its bias: the plumbing, no hub."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "you": 4, "are": 5, "nice": 6}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=32,
    ).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, toxic_bias]))
    model.save_pretrained(folder)
    return str(folder)


@pytest.mark.slow  # builds a BERT classifier: imports torch and transformers
def test_not_toxic_with_a_classifier(tmp_path: Path) -> None:
    toxic = make_classifier(tmp_path / "toxic", toxic_bias=4.0)
    result = not_toxic("you are nice " * 400 + "\ud800", classifier=toxic)  # long, and a lone surrogate
    assert not result.passed and result.reason == f"{toxic} scores 'toxic' 0.98 > 0.5"
    assert result.score == pytest.approx(0.018, abs=0.001) and result.evidence[0].startswith("you are nice")
    assert not_toxic("you are nice", classifier=toxic, threshold=0.99).passed
    calm = make_classifier(tmp_path / "calm", toxic_bias=-4.0)
    passed = not_toxic("you are nice", classifier=calm)
    assert passed.passed and passed.reason == "no profanity; toxic labels score at most 0.02"


@pytest.mark.slow  # builds a BERT classifier: imports torch and transformers
def test_not_toxic_needs_to_know_which_label_is_toxic(tmp_path: Path) -> None:
    unnamed = make_classifier(tmp_path / "unnamed", toxic_bias=4.0, labels=("LABEL_0", "LABEL_1"))
    with pytest.raises(ValueError, match=r"cannot tell which of \['LABEL_0', 'LABEL_1'\] means toxic"):
        not_toxic("you are nice", classifier=unnamed)
    assert not not_toxic("you are nice", classifier=unnamed, labels=["LABEL_1"]).passed


def test_toxic_labels_reads_label_names() -> None:
    names = {
        0: "non-toxic",
        1: "toxic",
        2: "severe_toxic",
        3: "identity_hate",
        4: "NOT",
        5: "OFFENSIVE",
        6: "neutral",
    }
    assert toxic_labels(names) == ["toxic", "severe_toxic", "identity_hate", "OFFENSIVE"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "threshold must be between 0 and 1"),
        ({"classifier": ""}, "classifier must be a model"),
    ],
)
def test_not_toxic_rejects_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        not_toxic("text", **kwargs)


class _Everything:
    """A set that holds every prefix: the plain computation, looking at every word's endings."""

    def __contains__(self, item: object) -> bool:
        return True


def test_the_prefix_filter_gives_the_plain_verdicts_on_random_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    from pytest_llmeval.checks import toxicity

    single, phrases = toxicity._profanity()
    listed = sorted(single)
    openers = sorted({p[0] for p in phrases})
    rng = random.Random(20261207)
    pieces = [
        "ing",
        "ers",
        "iest",
        "es",
        "s",
        "ed",
        "y",
        "*",
        "off",
        "Dick",
        "spaces",
        "the",
        "**",
        "f u c k",
    ]
    texts = []
    for _ in range(300):
        words = []
        for _ in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.4:
                words.append(rng.choice(listed) + rng.choice(["", *pieces[:7]]))
            elif kind < 0.55:
                words.append(rng.choice(openers) + rng.choice(["", "ing", "s"]))
            elif kind < 0.7:
                words.append(rng.choice(pieces))
            else:
                words.append(
                    "".join(rng.choice("abcdefghijklmnopqrstuvwxyz*") for _ in range(rng.randint(2, 9)))
                )
        texts.append(" ".join(words))
    filtered = [(not_toxic(t).passed, not_toxic(t).evidence) for t in texts]
    monkeypatch.setattr(toxicity, "_prefixes", lambda: _Everything())
    plain = [(not_toxic(t).passed, not_toxic(t).evidence) for t in texts]
    assert filtered == plain
    assert 50 < sum(not passed for passed, _ in filtered) < 300  # both verdicts occur
