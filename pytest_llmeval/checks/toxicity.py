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
from .text import english_zipf, word_set

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
    lesbo lezbian lezbians stupid jerk moron damn shag"""
)
_LEET = str.maketrans(
    {"4": "a", "@": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t"}
)
_JOINERS = re.compile(r"[._-]")
# Punctuation and Markdown around a word ("**asshole**", "_shit_", "`fuck`").
_WORD_EDGES = ".,;:?\"'()[]{}<>«»“”‘’*_~`"  # noqa: RUF001
_REPEATS = re.compile(r"(\w)\1{2,}")  # "Fuuuuuck", "shiiit"
_CENSORED = re.compile(r"[a-z]+(?:\*+[a-z]+)+")  # "f*ck", "motherf***er": stars for letters
# Endings a listed word takes ("shittiest", "wanking", "kikes"); a doubled consonant before them is
# undone ("shitt" -> "shit"). No "-y" on its own: "spicy" is no "spic" + y.
_ENDINGS = ("iest", "ier", "ing", "ers", "er", "ed", "es", "s")
# Compounds built on the strongest words ("dipshit", "batshit", "clusterfuck"; "fuckwit" when the
# rest is a word).
_COMPOUND_ENDS = ("shit", "fuck", "fucker")
_COMPOUND_STARTS = ("fuck", "shit")
_SENTENCE_END = (".", "!", "?", ":", "\n")
_LONGEST_DISGUISE = 40  # letters: "Fuuuuuuuuuuuck", "m-o-t-h-e-r-f-u-c-k-e-r"


@functools.lru_cache(maxsize=1)
def _profanity() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """better_profanity's word list as (single words, multi-word phrases), minus the neutral words."""
    listed = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text("utf-8")
    entries = {line.strip().casefold() for line in listed.splitlines() if line.strip()}
    entries -= _NOT_PROFANE
    single = frozenset(e for e in entries if " " not in e)
    phrases = frozenset(tuple(e.split()) for e in entries if " " in e)
    return single, phrases


@functools.lru_cache(maxsize=8192)  # asked twice per word: whether it is listed, and opens a phrase
def _stems(word: str) -> tuple[tuple[str, str], ...]:
    """The word without an ending a listed word takes, as (stem, ending), also with a doubled
    consonant undone ("shittiest" -> "shitt", "shit"; "shitty" -> "shit")."""
    stems: list[tuple[str, str]] = []
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            stem = word[: -len(ending)]
            stems.append((stem, ending))
            if len(stem) > 3 and stem[-1] == stem[-2]:
                stems.append((stem[:-1], ending))
    if word.endswith("y") and len(word) > 4 and word[-2] == word[-3]:
        stems.append((word[:-2], "y"))
    return tuple(stems)


def _spelled(stem: str, ending: str) -> bool:
    """Whether English spelling allows the cut: "-es" only after s, x, z, ch or sh ("spaces" is
    "space" + s, not "spac" + es), and no cut that leaves the base of a common word ending in a
    silent e ("spicing", "racing": "spice", "race"). Asked only of stems that are listed words."""
    if ending == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
        return False
    return ending == "s" or not _common(stem + "e")


def _common(word: str) -> bool:
    return english_zipf(word) >= 3.0


@functools.lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    """The first three letters of every listed word and phrase: a word that starts otherwise is no
    inflection of one, so most words of a long text skip the costlier looks below."""
    single, phrases = _profanity()
    return frozenset(w[:3] for w in single) | frozenset(p[0][:3] for p in phrases)


def _is_profane(word: str, single: frozenset[str]) -> bool:
    """Whether ``word`` (casefolded) is a listed word, written plainly or disguised."""
    if word in single or word.translate(_LEET) in single:
        return True
    if len(word) > _LONGEST_DISGUISE:
        return False  # no disguise of a listed word runs this long ("aaaa..." of a megabyte)
    if _JOINERS.search(word) and _JOINERS.sub("", word) in single:
        return True
    if _REPEATS.search(word) and {_REPEATS.sub(r"\1", word), _REPEATS.sub(r"\1\1", word)} & single:
        return True
    if word[:3] in _prefixes() and any(
        stem in single and _spelled(stem, ending) for stem, ending in _stems(word)
    ):
        return True
    if word.endswith(_COMPOUND_ENDS):
        return True
    if word.startswith(_COMPOUND_STARTS) and len(word) > 6 and _common(word[4:]):
        return True  # "fuckwit", "shitstorm"; not "shitake" (a misspelled mushroom) or "Shitterton"
    if "*" in word and _CENSORED.fullmatch(word):
        # Each run of stars stands for as many letters ("c*nt", "motherf***er").
        stars = re.compile(re.sub(r"\*+", lambda m: f"[a-z]{{{len(m.group())}}}", word))
        return any(stars.fullmatch(listed) for listed in single)
    return False


def _a_name(tokens: list[str], i: int) -> bool:
    """A capitalized word inside a sentence, or before another capitalized word, is a name ("Dick
    Cheney", "my grandfather, Dick, worked")."""
    token = tokens[i]
    if not (token[:1].isupper() and token[1:].islower()):
        return False
    starts_sentence = (
        i == 0 or tokens[i - 1].endswith(_SENTENCE_END) or tokens[i - 1] in ("#", "##", "-", "*")
    )
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    return not starts_sentence or (following[:1].isupper() and following[1:].islower())


def _profane_words(text: str) -> list[str]:
    single, phrases = _profanity()
    raw = text.split()
    tokens = [t.strip(_WORD_EDGES) for t in raw]
    # Each distinct word is looked up once: a long text repeats most of its words.
    distinct = set(tokens)
    bad = {t for t in distinct if (low := t.casefold()) and _is_profane(low, single)}
    # The words that may open a listed phrase, as written or inflected ("jerking off").
    starts = {p[0] for p in phrases}
    prefixes = _prefixes()
    forms_of = {
        t: (low, *(stem for stem, _ in _stems(low)))
        for t in distinct
        if (low := t.casefold())[:3] in prefixes
    }
    openers = {t: forms for t, forms in forms_of.items() if any(f in starts for f in forms)}
    found: list[str] = []
    for i, token in enumerate(tokens):
        if token in bad and not _a_name(raw, i):
            found.append(token)
        elif token in openers and i + 1 < len(tokens):
            second = tokens[i + 1].casefold()
            if any((form, second) in phrases for form in openers[token]):
                found.append(f"{token} {tokens[i + 1]}")
    # Letters spelled one by one ("f u c k").
    letters = re.findall(r"(?<!\S)(?:[A-Za-z] ){2,}[A-Za-z](?!\S)", text)
    found += [run for run in letters if run.replace(" ", "").casefold() in single]
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
