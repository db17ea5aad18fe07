"""The result every check returns."""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{self.name}: {self.reason}"
