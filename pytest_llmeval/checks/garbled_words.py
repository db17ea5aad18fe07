"""The word signals of ``not_garbled``: non-words and word salad (by wordfreq's word lists and
the languages' function words), and words run together without spaces. They share one reading
of the text (``_reading``, cached): its prose without code or data chunks, and its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache

from .garbled_scripts import script_table
from .garbled_signal import Finding, sampled, visible
from .garbled_wordlists import LANGUAGES_BY_SCRIPT, STOPWORD_LANGUAGES, STOPWORD_SETS, STOPWORDS

WORDS_MIN = 8  # fewer words than this say nothing reliable about word validity
WORD_MIN_ZIPF = 2.5  # wordfreq's Zipf scale: 2.5 is once per 3 million words; BPE fragments sit below
KNOWN_FLUENT = 0.9  # at least this share of known words: language, whatever else it looks like
KNOWN_MIN = 0.5  # below this share it is no language at all
SALAD_MIN_WORDS = 25
SALAD_MAX_STOPWORDS = 0.1  # running text in any language is a fifth or more function words
PROSE_LINE_TOKENS = 12  # code, tables and lists have short lines; sentences and token soup long ones
STOPWORDS_FLUENT = 0.15


@cache
def _known_words(lang: str) -> frozenset[str]:
    """wordfreq's words of ``lang`` at or above WORD_MIN_ZIPF (its lists are bucketed by centibel)."""
    from wordfreq import get_frequency_list

    buckets = get_frequency_list(lang)
    return frozenset(word for bucket in buckets[: round(100 * (9 - WORD_MIN_ZIPF)) + 1] for word in bucket)


# Code in fences or backticks, and chunks that are addresses, paths, hashes or encoded data
# rather than words: none of them is evidence of token soup.
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.S)
# Matches start only where a chunk starts ((?<!\S)), so each chunk is scanned once: linear time.
_DATA_CHUNK = re.compile(r"(?<!\S)(?:\S*?(?:://|www\.|@|\\)|(?=\S{25})\S*?[\d/=+%])\S*")


def _prose(text: str) -> str:
    """The text without code and without chunks that are addresses, paths, hashes or encoded data."""
    return _DATA_CHUNK.sub(" ", _CODE.sub(" ", text))


_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u0900-\u0dff\u200c\u200d"
)
_HAS_MARKS = re.compile(f"[{_MARKS}]")
# Letters with the marks Python's \w leaves out (Indic vowel signs, Arabic points): words stay whole.
# The plain letter class is much faster, so it serves the texts that have no such marks.
_MARKED_WORD = re.compile(f"(?:[^\\W\\d_]|[{_MARKS}])+")
_PLAIN_WORD = re.compile(r"[^\W\d_]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _words(text: str) -> list[str]:
    words: list[str] = []
    for word in (_MARKED_WORD if _HAS_MARKS.search(text) else _PLAIN_WORD).findall(text):
        if word.islower() or word.isupper() or not word.isascii():
            words.append(word)
        else:
            words.extend(_CAMEL.findall(word))  # code: "innerWidth" is two words
    return words


@lru_cache(maxsize=4)  # the word signals share one reading of the same text
def _reading(text: str) -> tuple[str, list[str], list[str]]:
    """The prose of a text, all its words, and the words of its long (sentence or soup) lines."""
    prose = _prose(sampled(text))
    long_lines = "\n".join(line for line in prose.splitlines() if len(line.split()) >= PROSE_LINE_TOKENS)
    return long_lines, _words(prose), long_lines.split()


def _unknown(lowered: list[str], known: frozenset[str]) -> frozenset[str]:
    """The lower-cased words wordfreq does not know (set operations first: most words are known)."""
    return frozenset(word for word in set(lowered).difference(known) if not _is_known(word, known))


def _is_known(word: str, known: frozenset[str]) -> bool:
    """Casefolded, and at apostrophes split ("l'énergie"), as wordfreq stores its words."""
    form = word.replace("\u2019", "'").casefold().replace("i\u0307", "i")
    if form in known:
        return True
    parts = [part for part in form.split("'") if len(part) > 1]
    return "'" in form and bool(parts) and all(part in known for part in parts)


def non_words(text: str) -> Finding | None:
    """Its words are not the words of its language (by wordfreq), or they are, but thrown together
    without the function words every sentence has: token soup, not language."""
    long_lines, all_words, _ = _reading(text)
    words = [w for w in all_words if len(w) > 1]  # one-letter words and variables say nothing
    if len(words) < WORDS_MIN:
        return None
    lowered = list(map(str.lower, words))
    best: tuple[float, str, frozenset[str]] | None = None
    for lang in _candidate_languages(all_words):
        if lang == _FLUENT:
            return None
        unknown = _unknown(lowered, _known_words(lang))
        share = 1 - sum(map(unknown.__contains__, lowered)) / len(words)
        if share >= KNOWN_FLUENT:
            return None
        if best is None or share > best[0]:
            best = (share, lang, unknown)
    if best is None:
        return None
    share, lang, unknown = best
    examples = visible(" ".join(list(dict.fromkeys(w for w in words if w.lower() in unknown))[:12]))
    if share < KNOWN_MIN:
        return Finding(
            "non_words",
            f"only {share:.0%} of its {len(words)} words are {lang} words (wanted at least {KNOWN_MIN:.0%})",
            (examples,),
        )
    return _word_salad(long_lines, lang, share, examples)


def _word_salad(long_lines: str, lang: str, share: float, examples: str) -> Finding | None:
    """Long lines of words with almost none of the language's function words: a salad of tokens."""
    stopwords = STOPWORD_SETS.get(lang)
    if stopwords is None:
        return None
    words = [w.casefold() for w in _words(long_lines)]
    if len(words) < SALAD_MIN_WORDS:
        return None
    function_share = sum(w in stopwords for w in words) / len(words)
    if function_share >= SALAD_MAX_STOPWORDS:
        return None
    return Finding(
        "non_words",
        f"a word salad: {share:.0%} of its words are {lang} words, but only {function_share:.0%} are "
        f"function words like {', '.join(STOPWORDS[lang].split()[:3])} "
        f"(sentences: over {SALAD_MAX_STOPWORDS:.0%})",
        (examples,),
    )


# Two words run together without a space, as a sampler stitching BPE pieces does: "SinceNV",
# "to,lack". "JavaScript" or "iPhone" are words wordfreq knows, so they do not count.
_GLUE_POINT = re.compile(r"[a-z][A-Z]|[a-z]{2}[,;][a-z]{2}")
_LETTER_RUN = re.compile(r"[A-Za-z]+")
_CAMEL_POINT = re.compile(r"[a-z][A-Z]")
_COMMA_GLUE = re.compile(r"[a-z]{2}[,;][a-z]{2}")
GLUED_MIN_SHARE = 0.02
GLUED_MIN_COUNT = 2


def glued_words(text: str) -> Finding | None:
    """Sentences whose words are run together without spaces ("SinceNV", "to,lack"): token soup."""
    long_lines, _, tokens = _reading(text)
    if len(tokens) < SALAD_MIN_WORDS:
        return None
    known = _known_words("en")
    glued: dict[str, None] = {}  # the tokens around each glue point, in order, once each
    for point in _GLUE_POINT.finditer(long_lines):
        start = max(long_lines.rfind(" ", 0, point.start()), long_lines.rfind("\n", 0, point.start())) + 1
        end = min(
            e
            for e in (long_lines.find(" ", point.end()), long_lines.find("\n", point.end()), len(long_lines))
            if e >= 0
        )
        token = long_lines[start:end]
        if token.isascii() and _is_glued(token, known):
            glued[token] = None
    if len(glued) < GLUED_MIN_COUNT or len(glued) < GLUED_MIN_SHARE * len(tokens):
        return None
    return Finding(
        "glued_words",
        f"{len(glued)} of its {len(tokens)} words are run together without spaces (fluent text: almost none)",
        (visible(" ".join(list(glued)[:6])),),
    )


def _is_glued(token: str, known: frozenset[str]) -> bool:
    if _COMMA_GLUE.search(token):
        return True
    return any(_CAMEL_POINT.search(run) and run.lower() not in known for run in _LETTER_RUN.findall(token))


def _candidate_languages(words: list[str]) -> Iterator[str]:
    """The word lists to try, cheapest and likeliest first; ``_FLUENT`` ends the search.

    English first for Latin text. In another language, text where a sixth of the words are its
    stopwords is language, and loading its word list (up to a second) would only confirm it;
    otherwise the script's default language and the two stopword leaders are tried.
    """
    head = words[:100]
    if sum(word.isascii() for word in head) * 2 > len(head):
        candidates = LANGUAGES_BY_SCRIPT["L"]
    else:
        table = script_table()
        scripts: dict[str, int] = {}
        for word in head:
            code = table.get(ord(word[0]))
            if code in LANGUAGES_BY_SCRIPT:
                scripts[code] = scripts.get(code, 0) + 1
        if not scripts:
            return  # Han, kana, Thai, hangul: words are not split by spaces, or not in wordfreq's form
        candidates = LANGUAGES_BY_SCRIPT[max(scripts, key=scripts.__getitem__)]
    if candidates[0] == "en":
        yield "en"
    sample = words[:400]
    hits = dict.fromkeys(candidates[1:] if candidates[0] == "en" else candidates, 0)
    for word in sample:
        for lang in STOPWORD_LANGUAGES.get(word.lower(), ()):
            if lang in hits:
                hits[lang] += 1
    leaders = sorted((lang for lang in hits if hits[lang]), key=lambda lang: -hits[lang])
    if leaders and hits[leaders[0]] >= STOPWORDS_FLUENT * len(sample):
        yield _FLUENT
        return
    yield from dict.fromkeys(lang for lang in (candidates[0], *leaders[:2]) if lang != "en")


_FLUENT = "<fluent>"  # not a language: the marker that stopwords alone showed the text is language
