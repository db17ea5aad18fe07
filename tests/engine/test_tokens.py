from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.engine.tokens import TokenRules, model_max_length, rolling_windows
from pytest_llmeval.engine.types import EngineError, GenerationRequest


@pytest.fixture(scope="module")
def rules(tiny_model_dir: Path) -> TokenRules:
    from transformers import AutoTokenizer

    return TokenRules(AutoTokenizer.from_pretrained(tiny_model_dir))


@pytest.mark.slow  # imports lm-eval, which the fast lane does without
def test_rolling_windows_match_lm_eval() -> None:
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    tokens = list(range(100, 137))
    for max_length in (1, 5, 16, 36, 37, 64):
        expected = [make_disjoint_window(w) for w in get_rolling_token_windows(tokens, 7, max_length, 1)]
        assert list(rolling_windows(tokens, 7, max_length)) == expected


def test_pairs_are_encoded_like_lm_eval(rules: TokenRules) -> None:
    from lm_eval.api.model import TemplateLM

    class Harness(TemplateLM):  # only the encoding half of lm-eval's model API is needed here
        backend = "causal"
        tokenizer = rules.tokenizer
        eot_token_id = rules.tokenizer.eos_token_id
        prefix_token_id = rules.prefix_token_id

        def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kw: object) -> list[int]:
            return list(self.tokenizer.encode(string, add_special_tokens=add_special_tokens is not False))

        loglikelihood = loglikelihood_rolling = generate_until = _loglikelihood_tokens = None  # type: ignore[assignment]

    harness = Harness.__new__(Harness)
    for context, continuation in [
        ("Q: 2+2?\nA:", " 4"),
        ("The capital is ", "Paris"),
        ("x  \n", "y"),
        ("a", "bc d"),
    ]:
        assert rules.encode_pair(context, continuation) == harness._encode_pair(context, continuation)


def test_empty_context_is_the_prefix_token(rules: TokenRules) -> None:
    context, continuation = rules.encode_pair("", "Hello")
    assert context == [rules.prefix_token_id]
    assert continuation == rules.tokenizer.encode("Hello", add_special_tokens=False)


def test_chat_rendering_uses_the_template_and_checks_length(rules: TokenRules) -> None:
    ids = rules.render(GenerationRequest(messages=({"role": "user", "content": "Hi"},)), 256, "tiny")
    text = rules.tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system") and text.endswith("<|im_start|>assistant\n")
    with pytest.raises(EngineError, match="prompt has 301 tokens, but the model's maximum length is 256"):
        rules.render(GenerationRequest(prompt="a" + " a" * 300), 256, "tiny")


def test_max_length_lookup_order() -> None:
    class Config:
        max_position_embeddings = 4096

    class Tokenizer:
        model_max_length = 512

    assert model_max_length(Config(), Tokenizer()) == 4096
    assert model_max_length(object(), Tokenizer()) == 512
    assert model_max_length(object(), object()) == 2048
