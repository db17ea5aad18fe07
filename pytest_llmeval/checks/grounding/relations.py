"""Relations a context states with a number, so that an output cannot move another number into them.

"Peter is 4 years older than Drew" binds 4 to "years older than drew"; an output that says "Peter
is 9 years older than Drew" has put a different number into that relation, even when the context
writes 9 in another comparison ("Ann is 9 years older than Sam"). A number the context also writes
on its own may fill any relation (see ``ContextRelations.conflict``). Six shapes are
read, each from the words right next to a number, with no punctuation in between:

- a comparison after it: "4 years older than Drew", "5 more apples than Sam";
- a rate after it: "$15 per hour", "3 eggs a day", "60 miles an hour";
- a unit of time or measure after it: "4 hours", "8 days", "a 30-minute walk" (not counted
  things: "three children" may be three of four; but a number that counts things in the context,
  "60 streets", may not become a measure: "the river rose 60 metres");
- a price or measure before it: "the shirt costs $5", "each box weighs 12 pounds";
- an amount before it: "an allowance of $5", "a total of $100";
- a verb before it and the thing it counts after it: "Lani baked 55 cookies", "Seattle has 20
  sheep" (the subject is not part of it: "she baked" is Lani too). A number the context uses to
  count another thing ("into 3 jars") may not fill it: "Lani baked 3 cookies".

A name's age the context states ("Liam is 16 years old") also binds right arithmetic: "Liam's age
is 2 * 2 = 4 years old" is unsupported, unless the arithmetic starts, step by step, from the
context's own number ("Liam was 16 - 2 = 14 years old" is an age at another time).

Two rules need no relation of the context's own. A time before now ("4 days ago") is a date: only
the context's own number of that unit gives it. A number the context uses only as a difference or
a factor ("5 less medals than Ali", "10 times less") counts nothing: "Izzy has 10 medals".

A relation is a key of plain words; the context's numbers in it are a set, so a context that says
"$15 per hour on weekdays and $20 per hour on weekends" accepts both. Pronouns ("it costs") name no
thing and form no relation: they would tie unrelated sentences together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexing import _WEEKDAYS, _bare, _key

_COMPARATIVES = (
    "older|younger|more|less|fewer|taller|shorter|heavier|lighter|longer|bigger|smaller|cheaper|"
    "faster|slower|higher|lower|greater|earlier|later|farther|further|wider|deeper"
)
# "4 years older than Drew", "5 more apples than Sam": up to two words before the comparative and
# two after it, then "than" and what it compares with (a word, or "the" and a word).
_COMPARISON = re.compile(
    rf"[ \t]+((?:[a-z]+[ \t]+){{0,2}}?(?:{_COMPARATIVES})(?:[ \t]+[a-z]+){{0,2}}?[ \t]+than[ \t]+"
    r"(?:(?:the|an?|his|her|their|its)[ \t]+)?[\w'\u2019]+)",
    re.IGNORECASE,
)
# Left out of a comparison's key: "less than a magazine" and "less than the magazine" are one.
_DETERMINERS = frozenset({"the", "a", "an", "his", "her", "their", "its"})
_PER_WORDS = (
    "hour|day|week|month|year|minute|second|night|morning|piece|person|pound|kilogram|kilo|mile|"
    "gallon|liter|litre|meter|foot|ounce|dozen|box|bag|pack|ticket|item|unit"
)
# "$15 per hour", "2 points per dollar", "3 eggs a day", "60 miles an hour": up to two words (the
# unit) before the rate. "per" makes a rate of any word; "a", "each" and "every" only of the words
# above, since "3 eggs a farmer sold" is no rate.
_RATE = re.compile(
    rf"[ \t]+((?:[a-z]+[ \t]+){{0,2}}?)(?:per[ \t]+([a-z]+)|(?:an?|each|every)[ \t]+((?:{_PER_WORDS})s?)\b)",
    re.IGNORECASE,
)
_VERBS = "costs?|paid|pays|charges?|earns?|weighs?|sells? for|sold for|is priced at|are priced at"
# "the shirt costs $5": the thing (one word) and the verb right before the number.
_PRICE = re.compile(rf"\b([a-z]+)[ \t]+({_VERBS})[ \t]+$", re.IGNORECASE)
_PRONOUNS = frozenset(
    {
        *("it", "this", "that", "which", "what", "who", "he", "she", "they", "we", "you", "i"),
        *("one", "each", "all", "some", "both", "these", "those", "there"),
    }
)
_MULTIPLIER = re.compile(r"[ \t]*(?:(?:times|x|percent)\b|[%\u00d7])", re.IGNORECASE)
# "an allowance of $5", "a total of $100": the thing a number is the amount of, right before it.
_OF = re.compile(r"\b([A-Za-z]{3,})[ \t]+of[ \t]+\$?$")
# Words before "of" that name no thing a number is the amount of.
_NOT_UNITS = frozenset(
    {
        *("all", "some", "both", "each", "one", "two", "three", "most", "least", "half", "third"),
        *("quarter", "out", "instead", "none", "many", "few", "lot", "lots", "any", "rest", "part"),
        *("made", "full", "kind", "sort", "because", "ahead", "outside", "inside", "top", "front"),
    }
)
# "4 hours", "8 days", "a 30-minute walk": a unit of time or measure right after the number. Units
# only, not counted things: "the three children" may be three of the context's four.
_UNIT = re.compile(
    r"(?:[ \t]+|-)(second|minute|hour|day|week|month|year|mile|kilometer|km|meter|metre|foot|feet|"
    r"inch|inches|pound|ounce|gallon|liter|litre|cup|kilogram|gram|min|hr)s?\b(?![-'\u2019])",
    re.IGNORECASE,
)
# "4 days ago": a time before now, which the context must give with the same number and unit.
_AGO = re.compile(r"[ \t]+ago\b", re.IGNORECASE)
# The word after a number that counts things: "60 streets", "140 people", "3 red apples".
_COUNTED = re.compile(r"[ \t]+([A-Za-z]{3,})\b(?![-'\u2019])")
# Words after a number that are not the thing it counts.
_NOT_COUNTED = frozenset(
    {
        *("and", "or", "nor", "but", "of", "to", "in", "on", "at", "for", "per", "the", "from", "by"),
        *("with", "into", "over", "under", "after", "before", "than", "then", "plus", "minus", "times"),
        *("is", "are", "was", "were", "has", "have", "had", "will", "can", "would", "each", "more"),
        *("less", "fewer", "percent", "divided", "multiplied", "equals", "that", "which", "who", "out"),
        *("off", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
        *("ten", "hundred", "thousand", "million", "billion", "dozen", "left", "total", "altogether"),
    }
)
# "Lani baked 55 cookies", "Seattle has 20 sheep": a verb right before a number that counts things.
# Past tenses in -ed, and the common verbs of word problems that have none (or whose present tense
# would be too broad a pattern: "is 5", "was 5").
_VERB_BEFORE = re.compile(r"\b([a-z]{3,})[ \t]+$")
_IRREGULAR_VERBS = frozenset(
    {
        *("has", "have", "had", "ate", "eats", "bought", "buys", "sold", "sells", "made", "makes"),
        *("gave", "gives", "got", "gets", "took", "takes", "found", "finds", "caught", "catches"),
        *("won", "wins", "lost", "loses", "spent", "spends", "kept", "keeps", "brought", "brings"),
        *("wrote", "writes", "drank", "drinks", "grew", "grows", "drew", "draws", "threw", "throws"),
        *("held", "holds", "sent", "sends", "built", "builds", "ran", "runs", "read", "reads", "saw"),
        *("sees", "owns", "needs", "uses", "picks", "bakes", "plants", "collects", "feeds", "fed"),
    }
)
# Words in -ed that are not verbs before a number.
_NOT_VERBS = frozenset({"hundred", "red", "bed", "shed", "seed", "speed", "feed", "need", "bred"})


def _verb(word: str) -> bool:
    word = word.casefold()
    if word in _NOT_VERBS:
        return False
    return word in _IRREGULAR_VERBS or (word.endswith("ed") and len(word) >= 5)


# One spelling per unit, so that "3 metres" and "3 meters" are one relation.
_SPELLINGS = {
    "metre": "meter",
    "litre": "liter",
    "feet": "foot",
    "km": "kilometer",
    "min": "minute",
    "hr": "hour",
}
_WORDS = re.compile(r"[A-Za-z]+")
_LOOK = 60  # characters read on each side of a number: more than any relation above needs


def relations_around(text: str, start: int, end: int) -> list[str]:
    """The keys of the relations that bind the number at ``text[start:end]``."""
    keys: list[str] = []
    after = text[end : end + _LOOK]
    dollars = "$ " if text[start:end].lstrip().startswith("$") else ""
    if (m := _COMPARISON.match(after)) is not None:
        compared = [word for word in m.group(1).split() if word.casefold() not in _DETERMINERS]
        keys.append("cmp " + dollars + _words(" ".join(compared)).rstrip())
    if (m := _RATE.match(after)) is not None:
        per = m.group(2) or m.group(3)
        keys.append("rate " + dollars + _words(m.group(1)) + "per " + _singular(per))
    if (m := _UNIT.match(after)) is not None:
        keys.append("unit " + _unit_key(m.group(1)))
        if _AGO.match(after, m.end()) is not None:
            keys.append("ago " + _unit_key(m.group(1)))
    elif (
        (counted := _COUNTED.match(text, end)) is not None
        and counted.group(1).casefold() not in _NOT_COUNTED
        and (action := _VERB_BEFORE.search(text, max(0, start - _LOOK), start)) is not None
        and _verb(action.group(1))
    ):
        keys.append(f"act {action.group(1).casefold()} {_singular(counted.group(1))}")
    multiplier = _MULTIPLIER.match(text, end) is not None  # "earns 3 times ...": no price
    before = text[max(0, start - _LOOK) : start]
    if (m := _OF.search(before)) is not None and m.group(1).casefold() not in _NOT_UNITS:
        keys.append("of " + _singular(m.group(1)))
    if not multiplier and (m := _PRICE.search(before)) is not None and m.group(1).casefold() not in _PRONOUNS:
        verb = m.group(2).casefold().split()[0].rstrip("s").replace("paid", "pay").replace("sold", "sell")
        keys.append(f"price {_singular(m.group(1))} {verb}")
    return keys


# A name's age: "Liam is 16 years old", "Liam's age is 16 years old".
_NAMED_AGE = re.compile(r"\b([A-Z][a-z]+)(?:['\u2019]s[ \t]+age)?[ \t]+(?:is|was)[ \t]+$")
_YEARS_OLD = re.compile(r"[ \t]+years?[ \t]+old\b", re.IGNORECASE)


def named_relation(text: str, before: int, after: int) -> tuple[tuple[str, str], str] | None:
    """The relation, with the name it is said of, that binds a number written between
    ``text[:before]`` and ``text[after:]``, and the words that say it: (("age", "liam"), "Liam is
    16 years old"). For a result of shown arithmetic ``before`` is where the arithmetic starts:
    "Liam is 2 * 2 = 4 years old" is said of Liam too.

    Only ages are read: a name with a verb and a count ("Seattle has 20 sheep") was tried and
    flagged right GSM8K solutions ("Denise read 13 + 5 = 18 pages today" when she read 10
    yesterday, "John has 3 * 60 = 180 minutes before dinner" when he has 20 minutes of homework)."""
    old = _YEARS_OLD.match(text, after)
    if old is None or (m := _NAMED_AGE.search(text, max(0, before - _LOOK), before)) is None:
        return None
    name = m.group(1).casefold()
    if name in _PRONOUNS:
        return None
    return ("age", name), " ".join(text[m.start() : old.end()].split())


def _unit_key(word: str) -> str:
    unit = _singular(word)
    return _SPELLINGS.get(unit, unit)


def _words(text: str) -> str:
    """Plain words as one key, each singular and followed by a space: "Years older " -> "year older "."""
    return "".join(_singular(word) + " " for word in text.split())


def _singular(word: str) -> str:
    """Near enough for a key: "years" and "year", "boxes" and "box", "pennies" and "penny" meet."""
    word = _bare(word.casefold())
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@dataclass
class ContextRelations:
    """The relations a context states: each key with its numbers (and the phrase stating each), and
    the numbers the context also writes outside any relation."""

    bound: dict[str, dict[float, str]] = field(default_factory=dict)
    free: set[float] = field(default_factory=set)
    # The numbers that count a thing ("60 streets", "140 people"). Counted things form no relation
    # ("12 students are boys" may restate "12 boys" of "30 students"), but such a number is not
    # free to become a measure: "the river rose 60 metres" when the river rose 3 metres and 60 is
    # the number of streets.
    counted: dict[float, set[str]] = field(default_factory=dict)  # each with the things it counts
    words: set[str] = field(default_factory=set)  # every word of the context, as a key spells it
    # The numbers the context uses only as a difference or a factor ("5 less medals than Ali", "10
    # times less"), each with its phrase: such a number counts nothing ("Izzy has 10 medals").
    relative: dict[float, str] = field(default_factory=dict)
    # What the context says of a name ("Liam is 16 years old"): by relation and name, each number
    # with its phrase.
    named: dict[tuple[str, str], dict[float, str]] = field(default_factory=dict)

    def computed_conflict(
        self, relation: tuple[str, str], value: float, derived_from: set[float]
    ) -> str | None:
        """The context's phrases when a result of shown arithmetic is put into a relation the
        context states of the same name with other numbers, and the arithmetic does not start from
        them: "Liam is 2 * 2 = 4 years old" when Liam is 16. Arithmetic from the context's own number
        is an update, and is let through: "two years ago Liam was 16 - 2 = 14 years old".
        ``derived_from`` holds every number the result was computed from, step by step."""
        numbers = self.named.get(relation)
        if not numbers or value in numbers or not derived_from.isdisjoint(numbers):
            return None
        return _quoted(list(numbers.values()))

    def conflict(self, key: str, values: tuple[float, ...], stated: bool) -> tuple[str, str] | None:
        """Why a number with ``values`` may not stand in relation ``key``, and the context's phrases
        that say otherwise; None when it may.

        The context must state the relation with other numbers. A number the context writes with
        no relation of its own is let through: "$20 per hour to teach and $30 to coach" means $30
        per hour too. So is a number it writes in relations of another shape only. One case needs
        no relation of the context: a unit the context never uses, on a number it gives only in
        other units ("it covers 80 miles in 80 hours" when it says 80 miles and no word of hours).
        Whether the number is in the context at all (``stated``) is the caller's verdict. The two
        rules of the module docstring that need no relation of the context's own come first."""
        numbers = self.bound.get(key)
        family = key.split(" ", 1)[0]
        if family == "ago":
            # A time before now is a date: only the context's own number of that unit gives it.
            given = self.bound.get("unit " + key[4:], {})
            if given.keys().isdisjoint(values):
                return "the context gives no such time ago", _quoted(list(given.values()))
            return None
        if numbers is None and stated and family == "act" and all(value in self.relative for value in values):
            return "the context uses this number only as a difference or factor", _quoted(
                [self.relative[value] for value in values]
            )
        if (
            numbers is None
            and stated
            and key.startswith("unit ")
            and key[5:] not in self.words
            and self.free.isdisjoint(values)
        ):
            elsewhere = [
                phrase
                for other, bound in self.bound.items()
                if other.startswith("unit ")
                for value, phrase in bound.items()
                if value in values
            ]
            if elsewhere:
                return "the context gives this number in another unit", _quoted(elsewhere)
            return None
        if numbers is None or not numbers.keys().isdisjoint(values):
            return None
        if stated:
            counts = self._counts_other(key, values)
            if (not self.free.isdisjoint(values) and not counts) or not (
                counts
                or any(
                    other.split(" ", 1)[0] == family and not bound.keys().isdisjoint(values)
                    for other, bound in self.bound.items()
                )
            ):
                return None
        return "the context states another number here", _quoted(list(numbers.values()))

    def _counts_other(self, key: str, values: tuple[float, ...]) -> bool:
        """Whether the context uses one of ``values`` to count things other than those of relation
        ``key``: such a number may not become a measure ("60 streets", "rose 60 metres"), nor count
        another thing ("into 3 jars", "baked 3 cookies"); "3 tubes" may still be "has 3 tubes"."""
        family, _, rest = key.partition(" ")
        things = set().union(*(self.counted.get(value, set()) for value in values))
        if family == "unit":
            return bool(things)
        return family == "act" and bool(things - {rest.rsplit(" ", 1)[-1]})


def _quoted(phrases: list[str]) -> str:
    return " and ".join(repr(phrase) for phrase in phrases[:3])


def context_relations(text: str, numbers: list[tuple[int, int, float, float]]) -> ContextRelations:
    """The relations of a context whose numbers are ``numbers``: (start, end, value, base) each."""
    found = ContextRelations()
    found.words = {_unit_key(word) for word in _WORDS.findall(text)}
    if not found.words.isdisjoint(_WEEKDAYS):
        found.words.add("day")  # "Monday, Wednesday and Friday" counts days: "in 3 days" is its unit
    absolute: set[float] = set()  # the numbers used at least once as more than a difference or factor
    for start, end, value, base in numbers:
        keys = relations_around(text, start, end)
        values = {_key(value), _key(base)}
        if _MULTIPLIER.match(text, end) is not None or (keys and all(key.startswith("cmp ") for key in keys)):
            phrase = " ".join(text[start : min(len(text), end + _LOOK)].split()[:6])
            for number in values:
                found.relative.setdefault(number, phrase)
        else:
            absolute.update(values)
        if not keys:
            found.free.update(values)
        # A number that counts things stays one that counts them when a verb binds it ("flooded 60
        # streets"); with any other relation it measures or prices something instead.
        if (
            all(key.startswith("act ") for key in keys)
            and (m := _COUNTED.match(text, end)) is not None
            and m.group(1).casefold() not in _NOT_COUNTED
        ):
            for number in values:
                found.counted.setdefault(number, set()).add(_singular(m.group(1)))
        if (named := named_relation(text, start, end)) is not None:
            relation, phrase = named
            for number in values:
                found.named.setdefault(relation, {}).setdefault(number, phrase)
        for key in keys:
            phrases = found.bound.setdefault(key, {})
            for number in values:
                phrases.setdefault(number, _phrase(text, start, end, key))
    for number in absolute:
        found.relative.pop(number, None)
    return found


def _phrase(text: str, start: int, end: int, key: str) -> str:
    """The words of the relation as the context writes them, for the evidence."""
    if key.startswith(("price ", "of ")):
        pattern = _PRICE if key.startswith("price ") else _OF
        m = pattern.search(text[max(0, start - _LOOK) : start])
        return " ".join([*(m.group(0) if m else "").split(), text[start:end]])
    if key.startswith("act "):
        verb = _VERB_BEFORE.search(text, max(0, start - _LOOK), start)
        counted = _COUNTED.match(text, end)
        if verb is not None and counted is not None:  # both matched when the key was made
            return f"{verb.group(1)} {text[start:end]} {counted.group(1)}"
    after = text[end : end + _LOOK]
    pattern = _COMPARISON if key.startswith("cmp ") else _UNIT if key.startswith("unit ") else _RATE
    m = pattern.match(after)
    return " ".join((text[start:end] + (m.group(0) if m else "")).split())
