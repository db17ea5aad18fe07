from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.engine.tokens import TokenRules, model_max_length, rolling_loglikelihood, rolling_windows
from pytest_llmeval.engine.types import EngineError, GenerationRequest, LoglikelihoodResult


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


@pytest.fixture(scope="module")
def bos_rules(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> TokenRules:
    """SmolLM2's tokenizer made to add BOS to every text, as Llama-3's, Mistral's and Gemma's do."""
    import json

    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("bos-tokenizer")
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    spec = json.loads((folder / "tokenizer.json").read_text())
    bos = {"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}
    spec["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [1], "tokens": ["<|im_start|>"]}},
    }
    (folder / "tokenizer.json").write_text(json.dumps(spec))
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["bos_token"] = "<|im_start|>"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return TokenRules(AutoTokenizer.from_pretrained(folder))


def test_perplexity_never_scores_bos_after_bos(bos_rules: TokenRules) -> None:
    """With a tokenizer that adds BOS, the text's tokens once began with it and the prefix BOS came
    before them: P(BOS | BOS) was scored as a token of the text (perplexity 337 for 78)."""
    text = "The cat sat on the mat. It was a sunny day."
    assert bos_rules.encode(text)[0] == bos_rules.prefix_token_id == 1  # the tokenizer does add it
    plain = bos_rules.tokenizer.encode(text, add_special_tokens=False)
    scored: list[tuple[list[int], list[int]]] = []

    def score(pairs: list[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        scored.extend(pairs)
        return [
            LoglikelihoodResult(logprob=-1.0 * len(c), is_greedy=False, num_tokens=len(c)) for _, c in pairs
        ]

    for window in (4, 64):
        scored.clear()
        [result] = rolling_loglikelihood(bos_rules, [text], window, score)
        assert scored[0][0] == [1] and [t for _, c in scored for t in c] == plain
        assert result.num_tokens == len(plain) and result.logprob == -len(plain)


def test_a_context_of_whitespace_only_is_conditioned_on_the_prefix(rules: TokenRules) -> None:
    """ "\\n" moved its whitespace to the continuation and was left with zero tokens, an error that
    took its whole batch down; it is now the empty context's path."""
    for context in ("\n", " ", "\n\n"):
        assert rules.encode_pair(context, "Paris") == (
            [rules.prefix_token_id],
            rules.tokenizer.encode(context + "Paris", add_special_tokens=False),
        )


def test_a_failed_rolling_call_hands_on_whole_texts_only(rules: TokenRules) -> None:
    """A backend that answers window by window attaches the windows it finished when a request
    fails; the response cache reads those positions as texts. Once a window's score was stored as
    a whole text's perplexity (and the other text got the first text's second window)."""
    texts = ["one two three four five six seven", "eight nine ten eleven twelve thirteen", "x y z w v u t s"]
    window_count = 0

    def score(pairs: list[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        nonlocal window_count
        window_count = len(pairs)
        error = EngineError("HTTP 400")
        # Every window of the first text and the last window of the others finished.
        first_text = sum(1 for _ in rolling_windows(rules.prefixed(texts[0])[1], 0, 4))
        done = set(range(first_text)) | {len(pairs) - 1}
        error.llmeval_finished = {  # type: ignore[attr-defined]
            i: LoglikelihoodResult(
                logprob=-float(len(pairs[i][1])), is_greedy=False, num_tokens=len(pairs[i][1])
            )
            for i in done
        }
        raise error

    with pytest.raises(EngineError) as failed:
        rolling_loglikelihood(rules, texts, 4, score)
    finished = failed.value.llmeval_finished  # type: ignore[attr-defined]
    assert window_count > 4 and list(finished) == [0]
    tokens = rules.prefixed(texts[0])[1]
    assert finished[0].num_tokens == len(tokens) and finished[0].logprob == -len(tokens)
