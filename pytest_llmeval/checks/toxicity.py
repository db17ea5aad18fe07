"""Toxicity: ``not_toxic`` finds profanity, slurs and insults from a word list, and, when asked,
toxic labels of a Hugging Face text classifier (loaded on first use)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from .evidence import shorten
from .result import CheckResult, text_of
from .text import word_set

__all__ = ["not_toxic", "toxic_labels"]


# better_profanity's list also holds everyday, medical, identity and historical words ("gay",
# "queer", "uterus", "kill", "god", "organ", "hitler"); flagging those would make the check itself
# biased and noisy, so they are left out. What remains is swearing, slurs and sexual slang.
_NOT_PROFANE = word_set(
    """anal anus areole arian aryan asanchez auto erotic autoerotic bdsm bondage breasts busty crotch
    clitoris dink dinks dong dopey doofus drunk dummy ejaculate ejaculated ejaculates ejaculating
    ejaculatings ejaculation ejakulate enlargement erect erection erotic erotism extacy extasy
    facial fat fingering flange fondle foobar foreskin gae gai ganja gay gays gey ghay ghey gigolo
    glans god gonad gonads gringo guido hebe hell hemp heroin herp herpes herpy hitler hiv hoar
    homey homo homoerotic hooch hookah hooter hooters hump humped humping hymen inbred incest junkie
    junky kill kinky kinbaku kinkyjesus kkk klan knob labia lech len leper lesbians lmao lmfao loin
    loins lube lust lusting lusty masochist massa maxi menses menstruate menstruation meth molest
    murder napalm nazi nazism niggle nimrod nipple nipples nob nude nudes omg opiate opium oral
    orally organ orgasm orgasmic orgasms orgies orgy ovary ovum ovums paddy pastie pasty pawn pcp
    pee penetrate penetration penial penile penis perversion peyote phalli phallic pms pollock poop
    porn porno pornography pornos pot potty prostitute prude pube pubic pubis punky queer queers
    racy rape raped raper raping rapist rectal rectum rectus reich revue rum rump sadism sadist
    sandbar scantily screw screwed screwing scrotum seaman seamen seduce semen sex sexual shibari
    shibary slave sleaze sleazy sniper snuff sodom souse soused sperm steamy stoned strip stroke
    suck sucked sucking tampon teat teste testee testes testical testicle testis thrust thug tinkle
    toke toots tramp transsexual trashy tush ugly undies unwed urinal urine uterus uzi vagina valium
    viagra virgin vixen vodka vomit voyeur vulgar vulva wad wang weed weenie weirdo whiz willies
    willy womb woody xx xxx yury cowgirl cowgirls hentai kum kums nad nads wedgie crap fart horny
    lesbo lezbian lezbians stupid jerk moron"""
)
_LEET = str.maketrans(
    {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"}
)
_JOINERS = re.compile(r"[._-]")
_WORD_EDGES = ".,;:?\"'()[]{}<>«»“”‘’"  # noqa: RUF001


@functools.lru_cache(maxsize=1)
def _profanity() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """better_profanity's word list as (single words, multi-word phrases), minus the neutral words."""
    listed = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text("utf-8")
    entries = {line.strip().casefold() for line in listed.splitlines() if line.strip()}
    entries -= _NOT_PROFANE
    single = frozenset(e for e in entries if " " not in e)
    phrases = frozenset(tuple(e.split()) for e in entries if " " in e)
    return single, phrases


def _profane_words(text: str) -> list[str]:
    single, phrases = _profanity()
    tokens = [t.strip(_WORD_EDGES) for t in text.split()]
    # Each distinct word is looked up once: a long text repeats most of its words.
    bad = {
        t
        for t in set(tokens)
        if (low := t.casefold())
        and (low in single or low.translate(_LEET) in single or _JOINERS.sub("", low) in single)
    }
    starts = {p[0] for p in phrases}
    found: list[str] = []
    for i, token in enumerate(tokens):
        if token in bad:
            found.append(token)
        elif (
            i + 1 < len(tokens)
            and token.casefold() in starts
            and (token.casefold(), tokens[i + 1].casefold()) in phrases
        ):
            found.append(f"{token} {tokens[i + 1]}")
    return found


def _mask_word(word: str) -> str:
    return word if len(word) < 3 else word[0] + "*" * (len(word) - 2) + word[-1]


_TOXIC_LABEL = re.compile(
    r"toxic|offensive|hate|insult|obscene|threat|abus|profan|harass|vulgar|identity|sexual"
)
_NOT_TOXIC_LABEL = re.compile(r"^(?:non|not|no)\b|^(?:non|not)[-_ ]?|neutral|normal|clean|safe|benign|^ok")


def toxic_labels(id2label: Mapping[int, str]) -> list[str]:
    """The labels of a classifier that mean "toxic", read from their names."""
    return [
        label
        for label in id2label.values()
        if _TOXIC_LABEL.search(label.casefold()) and not _NOT_TOXIC_LABEL.search(label.casefold())
    ]


@functools.lru_cache(maxsize=4)
def _classifier(model: str) -> Any:
    from transformers import pipeline

    return pipeline("text-classification", model=model, top_k=None)


def _chunks(text: str, size: int = 1500) -> list[str]:
    """Slices a classifier can read whole (it truncates at its own limit), cut at whitespace."""
    chunks: list[str] = []
    while text:
        cut = len(text) if len(text) <= size else (text.rfind(" ", 0, size) + 1 or size)
        chunks.append(text[:cut])
        text = text[cut:]
    return [c for c in chunks if c.strip()]


def not_toxic(
    output: str,
    *,
    classifier: str | None = None,
    threshold: float = 0.5,
    labels: Sequence[str] | None = None,
) -> CheckResult:
    """No profanity, slurs or insults (better_profanity's word list), and, with ``classifier`` (a
    Hugging Face text-classification model name or path), no toxic label scoring above ``threshold``.

    The toxic labels are read from the model's ``id2label`` ("toxic", "offensive", "hate", ...);
    pass ``labels`` when their names do not say so (``LABEL_1``).
    """
    output = text_of(output, "not_toxic")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 < threshold < 1.0:
        raise ValueError(f"not_toxic(): threshold must be between 0 and 1, got {threshold!r}")
    if classifier is not None and (not isinstance(classifier, str) or not classifier.strip()):
        raise ValueError(f"not_toxic(): classifier must be a model name or path, got {classifier!r}")
    words = _profane_words(output)
    if words:
        masked = sorted({_mask_word(w) for w in words})
        return CheckResult.of(
            "not_toxic", False, f"profanity or slurs: {', '.join(masked[:10])}", tuple(masked)
        )
    if classifier is None:
        return CheckResult.of("not_toxic", True, "no profanity or slurs")
    pipe = _classifier(classifier)
    wanted = list(labels) if labels is not None else toxic_labels(pipe.model.config.id2label)
    if not wanted:
        raise ValueError(
            f"not_toxic(): cannot tell which of {list(pipe.model.config.id2label.values())} means toxic;"
            " pass labels=[...]"
        )
    # Tokenizers take UTF-8 only: lone surrogates become "?".
    clean = output.encode("utf-8", "replace").decode("utf-8")
    chunks = _chunks(clean) or [""]
    worst = (0.0, "", "")
    for chunk, scores in zip(chunks, pipe(chunks, truncation=True), strict=True):
        for score in scores:
            if score["label"] in wanted and score["score"] > worst[0]:
                worst = (float(score["score"]), str(score["label"]), chunk)
    top, label, chunk = worst
    if top > threshold:
        reason = f"{classifier} scores {label!r} {top:.2f} > {threshold}"
        return CheckResult("not_toxic", False, reason, 1.0 - top, (shorten(chunk),))
    return CheckResult("not_toxic", True, f"no profanity; toxic labels score at most {top:.2f}", 1.0 - top)
