"""not_toxic: profanity from the word list (not identity or medical words), and a classifier's labels."""

from __future__ import annotations

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
