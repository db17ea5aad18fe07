"""similar_to on the packaged all-MiniLM-L6-v2 (real embeddings, no hub) and on ROUGE-L."""

from __future__ import annotations

import pytest

from pytest_llmeval.checks import CheckInputError
from pytest_llmeval.checks.similarity import SimilarityWarning, similar_to


@pytest.mark.slow  # a real embedding model: imports torch and sentence-transformers
def test_a_paraphrase_passes_and_an_unrelated_answer_fails() -> None:
    same = similar_to("The capital of France is Paris.", "Paris is the French capital.")
    assert same.passed and same.score > 0.9
    assert same.reason.startswith("cosine similarity (all-MiniLM-L6-v2) 0.9")
    other = similar_to("I like turtles and the sea.", "Paris is the French capital.", min=0.5)
    assert not other.passed and other.score < 0.3
    assert "< 0.5 to 'Paris is the French capital.'" in other.reason
    assert other.evidence == ("I like turtles and the sea.",)


def test_rouge_scores_word_overlap() -> None:
    result = similar_to("the cat sat on the mat", "the cat sat on a mat", method="rouge", min=0.7)
    assert result.passed and result.reason.startswith("ROUGE-L F1 0.833 >= 0.7")
    assert not similar_to("dogs bark", "the cat sat on a mat", method="rouge", min=0.1).passed


@pytest.mark.slow  # tries the model: imports torch and sentence-transformers (about 10 s)
def test_a_model_that_cannot_load_falls_back_to_rouge_with_a_warning() -> None:
    with pytest.warns(SimilarityWarning, match="no sentence embeddings .*using ROUGE-L instead"):
        result = similar_to("the cat sat", "the cat sat", model="/nonexistent/model")
    assert result.passed and result.reason.startswith("ROUGE-L F1 1.000")
    with pytest.raises(OSError):
        similar_to("the cat sat", "the cat sat", model="/nonexistent/model", method="embedding")


@pytest.mark.parametrize(
    ("output", "reference", "options", "error"),
    [
        (None, "x", {}, CheckInputError),
        ("x", "x", {"min": 1.5}, ValueError),
        ("x", "x", {"method": "bleu"}, ValueError),
    ],
)
def test_bad_inputs_give_clear_errors(
    output: object, reference: str, options: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        similar_to(output, reference, **options)  # type: ignore[arg-type]


def test_empty_output_fails_without_calling_a_model() -> None:
    result = similar_to("  ", "Paris", model="/never/loaded")
    assert not result.passed and result.reason == "the output is empty"


def test_rouge_cannot_check_text_it_cannot_read() -> None:
    """rouge-score keeps only a-z and 0-9: two different Russian sentences sharing a year scored
    1.000, and two identical ones 0.000."""
    for output, reference in (
        ("Москва, 1999", "Париж, 1999"),
        ("答案是 42", "我不知道 42"),
        ("Москва", "Москва"),
    ):
        result = similar_to(output, reference, method="rouge")
        assert not result.passed and result.reason.startswith(
            "could not check: ROUGE-L (rouge-score) reads only"
        )
    assert similar_to("Café au lait, s'il vous plaît", "Café au lait", method="rouge").score > 0.5


@pytest.mark.slow  # a real embedding model: imports torch and sentence-transformers
def test_embeddings_never_compare_only_the_beginnings_of_long_texts() -> None:
    """all-MiniLM-L6-v2 reads 256 word pieces: two 2 KB texts that differ only in their conclusion
    scored cosine 1.000. Past the window, method='embedding' cannot check and 'auto' falls back to
    ROUGE-L, saying why."""
    body = "We count the apples in each basket and add the baskets together, step by step. " * 25
    output, reference = body + "So the answer is 12 oranges.", body + "So the answer is 435 apples."
    refused = similar_to(output, reference, method="embedding", min=0.99)
    assert (
        not refused.passed and "word pieces; the embedding model reads only the first 256" in refused.reason
    )
    with pytest.warns(SimilarityWarning, match="reads only the first 256"):
        fallback = similar_to(output, reference, min=0.999)
    assert fallback.reason.startswith("ROUGE-L F1 (the output has") and not fallback.passed
    # A lone surrogate (kept by the checks on purpose) once crashed the tokenizer.
    assert similar_to("Paris \ud800 is big", "Paris is big").passed
