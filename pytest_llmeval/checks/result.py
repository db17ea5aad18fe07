"""The result every check returns, and the one way checks read their input."""

from __future__ import annotations

from dataclasses import dataclass

from .evidence import shorten


class CheckInputError(TypeError):
    """A check was given something that is not model output text (None, a number, bad bytes)."""


def text_of(output: object, check: str) -> str:
    """The text a check examines: a ``str`` (an ``Output`` is one) or UTF-8 ``bytes``.

    Anything else is a usage error that names the check, raised before the check starts, so a
    check never crashes half-way on a bad input. Lone surrogates are kept: they are part of what
    a check such as ``not_garbled`` must be able to see.
    """
    if isinstance(output, str):
        return str(output)
    if isinstance(output, bytes | bytearray):
        try:
            return bytes(output).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckInputError(
                f"{check}: the output bytes are not UTF-8 ({exc}); decode them first"
            ) from None
    if output is None:
        raise CheckInputError(f"{check}: got None instead of the model's output text")
    raise CheckInputError(f"{check}: expected the model's output as str, got {type(output).__name__}")


def string_argument(value: object, check: str, argument: str) -> str:
    """A check's own string argument (an expected answer, a needle, a pattern), or a
    CheckInputError that names the check and the argument: ``contains(out, None)`` must not end
    in a bare TypeError from deep inside."""
    if isinstance(value, str):
        return value
    raise CheckInputError(f"{check}: {argument} must be a string, got {type(value).__name__} {value!r:.60}")


# The most characters a check reads, for the checks whose cost would pass about 2 s on a 5 MB
# input on a laptop CPU (bench/bench_huge_inputs.py). Over it a check does not run: it fails and
# says it could not check, rather than stall a run for minutes or pass what it never read. Every
# limit is above --llmeval-max-answer-chars' default (262,144), so any answer a model gives can
# be checked. The other checks take well under 2 s at 5 MB.
SIZE_LIMITS: dict[str, int] = {
    "grounded_in": 400_000,  # output and context together
    "consistent": 400_000,  # output and samples together
    "not_garbled": 1_000_000,
    "similar_to": 500_000,  # output and reference each; ROUGE-L also by ROUGE_CELLS
    "json": 1_000_000,
    "sentences": 1_000_000,
    "no_pii": 1_000_000,
    "no_leak": 1_000_000,
}


def refusal(check: str, size: int, what: str = "the output") -> CheckResult | None:
    """A failed result saying ``check`` could not read ``size`` characters; None within its limit."""
    limit = SIZE_LIMITS[check]
    if size <= limit:
        return None
    reason = f"could not check: {what} is {size:,} characters, over {check}'s limit of {limit:,}"
    return CheckResult(check, False, reason, 0.0, ())


@dataclass(frozen=True)
class CheckResult:
    """What a check decided and why.

    ``score`` is in [0, 1] (1.0 or 0.0 for yes/no checks); ``evidence`` holds the spans of the
    output that decided it, so a failure message can show them instead of just "False".
    """

    name: str
    passed: bool
    reason: str
    score: float = 0.0
    evidence: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")

    @classmethod
    def of(cls, name: str, passed: bool, reason: str, evidence: tuple[str, ...] = ()) -> CheckResult:
        return cls(name, passed, reason, 1.0 if passed else 0.0, evidence)

    def line(self) -> str:
        """One line for a failure message: the reason, then any evidence the reason does not quote."""
        unseen = [e for e in self.evidence if e not in self.reason]
        shown = ", ".join(repr(shorten(e)) for e in unseen[:3])
        more = f" (+{len(unseen) - 3} more)" if len(unseen) > 3 else ""
        return f"{self.name}: {self.reason}" + (f" [evidence: {shown}{more}]" if unseen else "")
