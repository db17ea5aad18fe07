"""Stop strings matched in the generated text: the criterion looks at a window of each row's last
tokens; on random token streams it stops where decoding the whole generated text would."""

from __future__ import annotations

import random

import pytest

from pytest_llmeval.engine.stopping import GeneratedStopStrings

torch = pytest.importorskip("torch")

# Token pieces as a byte-level tokenizer has them: some decode to nothing of their own.
PIECES = ["", "", "a", "b", "\n", " ", "ab", "\n\n", "ba", "x", " a"]


def decode(tokens: list[int]) -> str:
    return "".join(PIECES[t] for t in tokens)


def plain_stop(prompt: list[int], generated: list[int], stops: tuple[str, ...]) -> int | None:
    for length in range(1, len(generated) + 1):
        if any(s in decode(generated[:length]) for s in stops):
            return length
    return None


def test_the_window_stops_where_the_whole_text_would_on_random_streams() -> None:
    rng = random.Random(5)
    for _ in range(300):
        stops = tuple(rng.choice(["\n\n", "ab", "x a", "bab", "\n \n"]) for _ in range(rng.randint(1, 2)))
        rows = 3
        prompts = [[rng.randrange(len(PIECES)) for _ in range(6)] for _ in range(rows)]  # may end in "\n"
        streams = [[rng.randrange(len(PIECES)) for _ in range(40)] for _ in range(rows)]
        criterion = GeneratedStopStrings(stops, decode, prompt_width=6, rows=rows)
        for step in range(1, 41):
            ids = torch.tensor([prompts[r] + streams[r][:step] for r in range(rows)])
            criterion(ids, None)
        assert criterion.stopped_at == [plain_stop(prompts[r], streams[r], stops) for r in range(rows)]
