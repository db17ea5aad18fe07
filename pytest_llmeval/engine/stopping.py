"""Stop strings matched in the generated text only, row by row.

transformers' own ``stop_strings`` look at the tail of the whole sequence, prompt included: with
stop "\\n\\n" a prompt ending in "\\n" ended every answer after one token, where vLLM and OpenAI
servers match what the model generated. This criterion decodes each row's generated tokens and
remembers where each row stopped, so the token count does not depend on what padding the batch
added after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Tokens decoded from the end of a row to look for a stop string: several per character, since a
# byte-level token may decode to no character of its own. A stop string found later than this
# allows is still cut from the text (``TransformersEngine._finish``); only the count would differ.
_TOKENS_PER_CHAR = 8


class GeneratedStopStrings:
    """A stopping criterion for ``generate()``: a row is done once its generated text holds one
    of ``stop``. ``stopped_at[row]`` is then the number of tokens it had generated."""

    def __init__(self, stop: Sequence[str], decode: Callable[[list[int]], str], prompt_width: int, rows: int):
        self.stop = tuple(stop)
        self.decode = decode
        self.prompt_width = prompt_width
        self.stopped_at: list[int | None] = [None] * rows
        self._window = _TOKENS_PER_CHAR * max(len(s) for s in self.stop) + 16

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        import torch

        generated = input_ids[:, self.prompt_width :].tolist()
        for row, tokens in enumerate(generated):
            if self.stopped_at[row] is None:
                text = self.decode(tokens[-self._window :])
                if any(s in text for s in self.stop):
                    self.stopped_at[row] = len(tokens)
        return torch.tensor(
            [at is not None for at in self.stopped_at], dtype=torch.bool, device=input_ids.device
        )
