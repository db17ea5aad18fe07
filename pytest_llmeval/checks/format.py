"""Format checks: the shape of an answer (JSON, length, language, markdown), not what it says."""

from __future__ import annotations

import functools
import itertools
import json as jsonlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from .evidence import EVIDENCE_CHARS, shorten
from .fences import outside_code
from .jsontext import answers, json_candidates
from .result import CheckResult, refusal, text_of
from .text import normalize

__all__ = [
    "JsonResult",
    "bullets",
    "chars",
    "headings",
    "json",
    "language",
    "numbered_steps",
    "one_of",
    "sentence_count",
    "sentences",
    "starts_with",
    "words",
]

_MAX_REPORTED_ERRORS = 5


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


# ---------------------------------------------------------------------------------------------
# Prefix and closed-set answers

# Wrappers people do not count as part of a one-word answer: "**Yes.**", "`B`", '"no"'.
_ANSWER_WRAPPING = " \t\n.!?;:,\"'`*_()[]“”‘’«»"  # noqa: RUF001 - the typographic quotes are the point


def starts_with(output: str, prefix: str, *, case: bool = False) -> CheckResult:
    """The output begins with ``prefix`` once leading whitespace is skipped (normalised like ``equals``)."""
    output = text_of(output, "starts_with")
    if not isinstance(prefix, str) or not prefix.strip():
        raise ValueError(f"starts_with() needs a non-empty prefix, got {prefix!r}")
    want = normalize(prefix, case=case)
    # Normalising only the head keeps a 1 MB output cheap; the margin covers collapsed whitespace.
    head = normalize(output.lstrip()[: 4 * len(prefix) + 256], case=case)
    if head.startswith(want):
        return CheckResult.of("starts_with", True, f"starts with {prefix!r}", (shorten(output.lstrip()),))
    return CheckResult.of(
        "starts_with",
        False,
        f"expected the output to start with {prefix!r}, it starts with {shorten(output.lstrip(), 60)!r}",
        (shorten(output.lstrip()),),
    )


def one_of(output: str, options: Sequence[str], *, case: bool = False) -> CheckResult:
    """The whole output is one of ``options``, normalised; wrapping quotes, ``**`` and a final "." aside."""
    output = text_of(output, "one_of")
    if isinstance(options, str) or not options or not all(isinstance(o, str) for o in options):
        raise ValueError(f"one_of() needs a list of option strings, got {options!r}")
    answer = normalize(output, case=case).strip(_ANSWER_WRAPPING)
    for option in options:
        if normalize(option, case=case).strip(_ANSWER_WRAPPING) == answer:
            return CheckResult.of("one_of", True, f"answer {option!r} is one of {list(options)!r}", (option,))
    return CheckResult.of(
        "one_of",
        False,
        f"expected one of {list(options)!r}, got {shorten(output.strip(), 60)!r}",
        (shorten(output.strip()),),
    )


# ---------------------------------------------------------------------------------------------
# JSON


@dataclass(frozen=True)
class JsonResult(CheckResult):
    """A ``json`` check's result that also hands back what was parsed.

    ``value`` is the parsed JSON (dicts, lists, ...), or the validated pydantic model instance when
    a model was given as the schema; None when nothing parsed.
    """

    value: object = None


def _describe(value: object) -> str:
    if isinstance(value, dict):
        return f"JSON object with {_plural(len(value), 'key')}"
    if isinstance(value, list):
        return f"JSON array of {_plural(len(value), 'item')}"
    return f"JSON {type(value).__name__.replace('NoneType', 'null')}"


Schema = type[BaseModel] | Mapping[str, Any]


def json(output: str, *, schema: Schema | None = None) -> JsonResult:
    """The output is (or contains) a JSON value, optionally valid against ``schema``.

    The JSON may be the whole output, else fenced code blocks, else objects or arrays in the
    prose (an example in prose beside a fenced answer is no answer). Each value offered that way
    is checked: one that matches beside one that does not is "could not decide", never a pass.
    ``schema`` is a pydantic model class (``value`` is then the model instance) or a JSON Schema
    dict (checked with jsonschema, formats included). All schema errors are reported (up to
    five), each with the path to the failing field.
    """
    output = text_of(output, "json")
    validate = _validator(schema)
    if (refused := refusal("json", len(output))) is not None:
        return JsonResult(refused.name, False, refused.reason, 0.0, ())
    if isinstance(schema, Mapping) and (unchecked := _unchecked_formats(schema)):
        # jsonschema passes a format it has no checker for: "yesterday" would be a date-time.
        reason = f"could not check: no checker here for the schema's format {', '.join(map(repr, unchecked))}"
        return JsonResult("json", False, reason, 0.0, ())
    found, failed = json_candidates(output)
    parsed = answers(found)
    if not parsed:
        if failed:
            failure = failed[0]
            return JsonResult(
                "json",
                False,
                f"invalid JSON{failure.where}: {failure.error}",
                0.0,
                (shorten(failure.span),),
            )
        return JsonResult("json", False, f"no JSON value in {shorten(output, 120)!r}", 0.0, ())
    if validate is None:
        best = parsed[0]
        return JsonResult(
            "json", True, f"valid {_describe(best.value)}{best.where}", 1.0, (shorten(best.span),), best.value
        )
    checked = [(candidate, *validate(candidate.value)) for candidate in parsed]
    failing = [(candidate, errors) for candidate, _, errors in checked if errors]
    if not failing:
        candidate, value, _ = checked[0]
        every = f" (all {len(checked)} values)" if len(checked) > 1 else ""
        reason = f"valid JSON matching {_schema_name(schema)}{candidate.where}{every}"
        return JsonResult("json", True, reason, 1.0, (shorten(candidate.span),), value)
    best, errors = failing[0]
    shown = "; ".join(errors[:_MAX_REPORTED_ERRORS])
    more = len(errors) - _MAX_REPORTED_ERRORS
    reason = (
        f"JSON{best.where} does not match {_schema_name(schema)}: "
        f"{_plural(len(errors), 'error')}: {shown}" + (f"; and {more} more" if more > 0 else "")
    )
    if len(failing) < len(checked):  # one answer matches and another does not: which one is meant?
        reason = (
            f"could not decide: {len(checked) - len(failing)} of {len(checked)} JSON values match; {reason}"
        )
    return JsonResult("json", False, reason, 0.0, (shorten(best.span),), best.value)


# value -> (what to hand back: the value or a model instance, the error lines)
_Validate = Callable[[object], tuple[object, list[str]]]


def _schema_name(schema: Schema | None) -> str:
    return schema.__name__ if isinstance(schema, type) else "the schema"


def _validator(schema: Schema | None) -> _Validate | None:
    """A function value -> (value to hand back, error lines), or None; bad schemas fail here, up front."""
    if schema is None:
        return None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return functools.partial(_validate_model, schema)
    if isinstance(schema, Mapping):
        try:
            key = jsonlib.dumps(schema, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"json(): {schema!r} is not a JSON Schema: it is not JSON-serialisable ({exc})"
            ) from None
        return functools.partial(_validate_json_schema, _json_schema_validator(key))
    raise ValueError(
        f"json(): schema must be a pydantic BaseModel subclass or a JSON Schema dict, got {schema!r}"
    )


def _validate_model(model: type[BaseModel], value: object) -> tuple[object, list[str]]:
    try:
        # JSON mode, as model_validate_json reads it: a strict model's datetime, UUID, Enum or tuple
        # fields take their JSON forms (strings, lists), which Python mode refuses.
        return model.model_validate_json(jsonlib.dumps(value)), []
    except ValidationError as exc:
        return value, [f"{_model_path(error['loc'])}: {error['msg']}" for error in exc.errors()]


def _model_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(root)"


@functools.lru_cache(maxsize=64)
def _json_schema_validator(schema_text: str) -> Any:
    # Checking a schema against its metaschema takes milliseconds: do it once per distinct schema.
    from jsonschema import SchemaError, validators
    from referencing import Registry

    schema = jsonlib.loads(schema_text)
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"json(): {shorten(schema_text)} is not a JSON Schema: {exc.message}") from None
    # An empty registry that retrieves nothing: a "$ref" resolves inside the schema or not at all.
    # jsonschema would otherwise fetch an http(s) reference, so a check could reach the network.
    # (referencing's classes are attrs classes whose fields mypy does not see: hence the Any.)
    registry: Any = cast(Any, Registry)(retrieve=_refuse_remote_reference)
    return cls(schema, format_checker=cls.FORMAT_CHECKER, registry=registry)


def _unchecked_formats(schema: Mapping[str, Any]) -> list[str]:
    """The ``format`` values in ``schema`` that its validator class has no checker for."""
    from jsonschema import validators

    known = validators.validator_for(schema).FORMAT_CHECKER.checkers
    found: set[str] = set()
    stack: list[object] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            if isinstance(node.get("format"), str):
                found.add(node["format"])
            stack.extend(node.values())  # a property may be named "format" too
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(found - set(known))


def _refuse_remote_reference(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    raise cast(Any, NoSuchResource)(ref=uri)


def _validate_json_schema(validator: Any, value: object) -> tuple[object, list[str]]:
    from referencing.exceptions import Unresolvable

    try:
        errors = sorted(validator.iter_errors(value), key=lambda e: (str(e.json_path), e.message))
    except Unresolvable as exc:
        message = (
            f"json(): the schema's $ref {exc.ref!r} is not inside the schema; only local references resolve"
        )
        raise ValueError(message) from None
    return value, [f"{e.json_path}: {shorten(e.message, 120)}" for e in errors]


# ---------------------------------------------------------------------------------------------
# Length bounds


def _bounds(check: str, low: int | None, high: int | None) -> None:
    for name, bound in (("min", low), ("max", high)):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int) or bound < 0):
            raise ValueError(f"{check}(): {name} must be a whole number >= 0 or None, got {bound!r}")
    if low is None and high is None:
        raise ValueError(f"{check}() needs min=, max= or both")
    if low is not None and high is not None and low > high:
        raise ValueError(f"{check}(): min={low} is larger than max={high}")


def _length_result(
    check: str, count: int, unit: str, low: int | None, high: int | None, overflow: str, whole: str
) -> CheckResult:
    """One reason format for every length check: the count, then the bound it broke."""
    counted = _plural(count, unit)
    if low is not None and count < low:
        return CheckResult.of(check, False, f"{counted}, wanted at least {low}", (shorten(whole),))
    if high is not None and count > high:
        return CheckResult.of(check, False, f"{counted}, wanted at most {high}", (shorten(overflow),))
    wanted = (
        f"between {low} and {high}"
        if low is not None and high is not None
        else (f"at least {low}" if low is not None else f"at most {high}")
    )
    return CheckResult.of(check, True, f"{counted}, wanted {wanted}")


# A word is a run of letters/digits, with inner apostrophes or hyphens: "don't", "state-of-the-art".
_WORD = re.compile(r"\w+(?:['’-]\w+)*")  # noqa: RUF001


def words(output: str, *, min: int | None = None, max: int | None = None) -> CheckResult:
    """The output has between ``min`` and ``max`` words (either bound may be left out)."""
    output = text_of(output, "words")
    _bounds("words", min, max)
    found = _WORD.findall(output)
    overflow = ""
    if max is not None and len(found) > max:
        # Evidence: where the text runs past the limit, the part a user would cut.
        overflow = output[next(itertools.islice(_WORD.finditer(output), max, None)).start() :]
    return _length_result("words", len(found), "word", min, max, overflow, output)


# Sentence ends: terminal punctuation (with closing quotes/brackets) before whitespace, CJK full
# stops anywhere, and blank lines (a heading or list line has no period but is its own unit).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|(?<=[。！？])|\n[ \t]*\n")  # noqa: RUF001
_ANY_WORD = re.compile(r"\w")
_ABBREVIATION = re.compile(
    r"\b(?:mr|mrs|ms|dr|prof|sr|jr|st|vs|etc|inc|ltd|co|fig|approx|e\.g|i\.e|cf|al)\.[\"'”’)\]]*$",  # noqa: RUF001
    re.IGNORECASE,
)
_NUMBER_SIGN = re.compile(r"\bno\.$", re.IGNORECASE)  # "No. 5", but "The answer is no. It..."
_LIST_MARKER = re.compile(r"(?:^|\n)[ \t]*\d{1,3}\.$")  # "1." opening a numbered line
_INITIAL = re.compile(r"(?:^|[\s(])[A-Z]\.$")
# Words that start a sentence after a lone capital ("option B. It was"), not a name ("J. Smith").
_SENTENCE_STARTERS = frozenset(
    {
        "A",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "I",
        "We",
        "You",
        "He",
        "She",
        "They",
        "There",
        "Here",
        "My",
        "Our",
        "If",
        "When",
        "So",
        "But",
        "And",
        "Or",
        "Then",
        "Also",
        "Yes",
        "No",
        "Because",
        "Therefore",
        "Thus",
        "However",
        "Since",
        "As",
        "In",
        "On",
        "For",
    }
)


def _continues(piece: str, following: str) -> bool:
    """Whether the break after ``piece`` is no sentence end: an abbreviation, a numbered line's
    marker, "No." before a number, an initial before a name, or "wait..." going on in lowercase."""
    if _ABBREVIATION.search(piece) or _LIST_MARKER.search(piece):
        return True
    if _NUMBER_SIGN.search(piece):
        return following[:1].isdigit()
    if _INITIAL.search(piece):
        next_word = following.split(maxsplit=1)[0].rstrip(".,") if following.strip() else ""
        return bool(next_word) and next_word[:1].isupper() and next_word not in _SENTENCE_STARTERS
    return piece.endswith(("...", "…")) and following[:1].islower()


def sentence_count(text: str) -> int:
    """Sentences in ``text``; "Dr. Smith", "e.g. this", "J. K. Rowling", numbered lines and
    "wait... then" do not end one; "The answer is 4." and "I chose B. It..." do."""
    pieces = [p for p in _SENTENCE_BREAK.split(text) if _ANY_WORD.search(p)]
    count = 0
    for piece, following in itertools.zip_longest(pieces, pieces[1:], fillvalue=""):
        count += not following or not _continues(piece.rstrip(), following)
    return count


def sentences(output: str, *, min: int | None = None, max: int | None = None) -> CheckResult:
    """The output has between ``min`` and ``max`` sentences."""
    output = text_of(output, "sentences")
    _bounds("sentences", min, max)
    if (refused := refusal("sentences", len(output))) is not None:
        return refused
    count = sentence_count(output)
    overflow = output[-EVIDENCE_CHARS:] if max is not None and count > max else ""
    return _length_result("sentences", count, "sentence", min, max, overflow, output)


def chars(output: str, *, min: int | None = None, max: int | None = None) -> CheckResult:
    """The output, without surrounding whitespace, has between ``min`` and ``max`` characters."""
    output = text_of(output, "chars")
    _bounds("chars", min, max)
    body = output.strip()
    overflow = body[max:] if max is not None else ""
    return _length_result("chars", len(body), "character", min, max, overflow, body)


# ---------------------------------------------------------------------------------------------
# Language

# The thresholds below were tuned on a dev half of 10,385 labeled texts in 70 languages (the
# translated messages of Debian's gettext catalogs) and checked on the other half.
# Below this many letters a text is "too short to tell": one word is valid in many languages.
_MIN_LETTERS = 20
# The target passes when lingua ranks it first or close behind the first (related languages such
# as Bokmål/Nynorsk or Indonesian/Malay share most n-grams) ...
_CLOSE_TO_TOP = 0.5
# ... and, in a text too short to tell, when it is at least a plausible reading.
_SHORT_CLOSE_TO_TOP = 0.2
_CHUNK_CHARS = 1000
_CODE_AND_LINKS = re.compile(
    r"^[ \t]{0,3}(```|~~~)[^\n]*\n.*?(?:^[ \t]{0,3}\1[ \t]*$|\Z)|`[^`\n]*`|https?://\S+", re.M | re.S
)
_LETTER = re.compile(r"[^\W\d_]")


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    """lingua's detector over all its 75 languages, built once.

    Building is instant; lingua loads each language's model the first time a text in that script
    needs it (about 5 s for all Latin-script models), then detection takes about 1 ms a sentence.
    A restricted language set would load faster but would call Catalan "Spanish", so it is not used.
    """
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().build()


def _lingua_language(code: str) -> Any:
    from lingua import IsoCode639_1, Language

    if not isinstance(code, str):
        raise ValueError(f"language() needs an ISO 639-1 code such as 'en', got {code!r}")
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code.strip().lower()))
    except ValueError:
        known = sorted(lang.iso_code_639_1.name.lower() for lang in Language.all())
        raise ValueError(
            f"language(): {code!r} is not an ISO 639-1 code that lingua knows; known: {', '.join(known)}"
        ) from None


def _chunks(prose: str) -> list[str]:
    """Up to three slices (start, middle, end) of about 1,000 characters: enough to tell a
    language, constant time on a 1 MB output, and a drift into another language still shows."""
    if len(prose) <= 2 * _CHUNK_CHARS:
        return [prose]
    middle = len(prose) // 2 - _CHUNK_CHARS // 2
    starts = (0, middle, len(prose) - _CHUNK_CHARS)
    return [prose[s : s + _CHUNK_CHARS] for s in starts]


def language(output: str, code: str) -> CheckResult:
    """The output is written in the language with ISO 639-1 ``code`` (through lingua).

    Code blocks, inline code and URLs are left out. Text is read in up to three 1,000-character
    slices, and each must be in the language (so a drift into English shows): lingua ranks it
    first, or within half the top confidence. Under 20 letters a text is too short to tell, and
    it passes while the language is at least a plausible reading (a fifth of the top confidence).
    """
    output = text_of(output, "language")
    target = _lingua_language(code)
    want = target.iso_code_639_1.name.lower()
    # lingua takes UTF-8 only: lone surrogates become "?", which carries no language anyway.
    prose = _CODE_AND_LINKS.sub(" ", output).encode("utf-8", "replace").decode("utf-8")
    prose = " ".join(prose.split())
    if not _LETTER.search(prose):
        if not output.strip():
            return CheckResult("language", False, f"empty output, expected language {want!r}", 0.0, ())
        return CheckResult.of(
            "language",
            True,
            f"no words to tell the language from; nothing contradicts {want!r}",
            (shorten(output),),
        )
    detector = _detector()
    score = 1.0
    for chunk in _chunks(prose):
        letters = len(_LETTER.findall(chunk))
        values = detector.compute_language_confidence_values(chunk)
        top = values[0]
        mine = next((v.value for v in values if v.language == target), 0.0)
        top_code = top.language.iso_code_639_1.name.lower()
        # The score is the language's confidence relative to the top one: 1.0 when it ranks first.
        score = min(score, mine / top.value if top.value > 0 else 0.0)
        short = letters < _MIN_LETTERS
        if top.language != target and mine < (_SHORT_CLOSE_TO_TOP if short else _CLOSE_TO_TOP) * top.value:
            hedge = f"too short to be sure ({_plural(letters, 'letter')}), but " if short else ""
            reason = (
                f"{hedge}the text is {top_code!r} (confidence {top.value:.2f}), not {want!r} ({mine:.2f})"
            )
            return CheckResult("language", False, reason, score, (shorten(chunk),))
        if short:
            reason = f"too short to tell ({_plural(letters, 'letter')}); {want!r} is a plausible reading"
            return CheckResult("language", True, reason, score, (shorten(chunk),))
    return CheckResult("language", True, f"the text is {want!r}", score, (shorten(prose),))


# ---------------------------------------------------------------------------------------------
# Markdown structure


def _count_check(
    check: str, count: int, unit: str, low: int, high: int | None, found: list[str], qualifier: str = ""
) -> CheckResult:
    evidence = tuple(shorten(line.strip()) for line in found[:5])
    counted = _plural(count, unit) + qualifier
    if count < low:
        return CheckResult.of(check, False, f"{counted}, wanted at least {low}", evidence)
    if high is not None and count > high:
        return CheckResult.of(check, False, f"{counted}, wanted at most {high}", evidence)
    return CheckResult.of(check, True, counted, evidence)


_BULLET = re.compile(r"^[ \t]*[-*+•‣◦▪●][ \t]+\S")
_THEMATIC_BREAK = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


def bullets(output: str, *, min: int = 1, max: int | None = None) -> CheckResult:
    """The output has between ``min`` and ``max`` bullet items ("- ", "* ", "+ ", "• "), nested ones too."""
    output = text_of(output, "bullets")
    _bounds("bullets", min, max)
    found = [line for line in outside_code(output) if _BULLET.match(line) and not _THEMATIC_BREAK.match(line)]
    return _count_check("bullets", len(found), "bullet item", min, max, found)


_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?=[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _headings(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    previous = ""
    for line in outside_code(text):
        atx = _ATX_HEADING.match(line)
        setext = _SETEXT_UNDERLINE.match(line)
        if atx:
            found.append((len(atx.group(1)), line))
        elif setext and previous.strip() and not _ATX_HEADING.match(previous) and not _BULLET.match(previous):
            found.append((1 if setext.group(1)[0] == "=" else 2, previous))
        previous = "" if atx or setext else line
    return found


def headings(output: str, *, min: int = 1, level: int | None = None) -> CheckResult:
    """The output has at least ``min`` markdown headings ("# ..." or underlined), of ``level`` if given."""
    output = text_of(output, "headings")
    _bounds("headings", min, None)
    if level is not None and (isinstance(level, bool) or level not in range(1, 7)):
        raise ValueError(f"headings(): level must be 1 to 6 or None, got {level!r}")
    found = [line for depth, line in _headings(output) if level is None or depth == level]
    unit = "heading" if level is None else f"level-{level} heading"
    return _count_check("headings", len(found), unit, min, None, found)


_STEP = re.compile(r"^[ \t]{0,3}(\d{1,9})[.)][ \t]+\S")
_NAMED_STEP = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+)?(?:\*\*)?step[ \t]+(\d{1,9})\b", re.IGNORECASE)


def numbered_steps(output: str, *, min: int = 1) -> CheckResult:
    """The output has at least ``min`` numbered steps ("1." / "1)" / "Step 1:"), numbered 1, 2, 3 in order.

    A list may restart at 1 after other text (a second list), or carry on after a code block.
    """
    output = text_of(output, "numbered_steps")
    _bounds("numbered_steps", min, None)
    steps: list[str] = []
    previous: int | None = None
    separated = False
    for line in outside_code(output):
        step = _STEP.match(line) or _NAMED_STEP.match(line)
        if step is None:
            # Indented lines belong to the step above; other text may end the list.
            separated = separated or bool(line.strip() and not line[0].isspace())
            continue
        number = int(step.group(1))
        expected = 1 if previous is None else previous + 1
        if number != expected and not (separated and number == 1):
            after = f"after {previous}" if previous is not None else "at the start"
            reason = f"step {len(steps) + 1} is numbered {number}: expected {expected} {after}"
            return CheckResult.of("numbered_steps", False, reason, (shorten(line.strip()),))
        steps.append(line)
        previous, separated = number, False
    return _count_check("numbered_steps", len(steps), "numbered step", min, None, steps)
