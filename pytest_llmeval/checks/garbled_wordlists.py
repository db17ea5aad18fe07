"""The word lists of ``not_garbled``'s word signals: a few of the most frequent words of each
language wordfreq knows, and the languages written with spaces between words, by script.
"""

from __future__ import annotations

# A few of the most frequent words of each language wordfreq knows: enough to tell which word
# list to check a text against, without a language-detection model.
STOPWORDS = {
    "en": "the and of to is in that it for you was with on are be this have as not",
    "fr": "le la les des est une et dans pour que qui pas sur avec du au il elle nous vous",
    "de": "der die das und ist nicht ein eine mit den von zu sich auf für ich sie es im dem",
    "es": "el la los las de que y en un una es por con para del se no al lo como",
    "it": "il la di che e un una è per non con sono del della gli le nel alla",
    "pt": "o a os as de que e um uma é não com para do da em no na se por mais",
    "nl": "de het een en van is dat op te in niet zijn voor met ik je ze er",
    "sv": "och att det som en är på för med jag inte av till den har var ett",
    "da": "og at det som en er på for med jeg ikke af til den har var et",
    "nb": "og at det som en er på for med jeg ikke av til den har var et",
    "pl": "i w nie na się z że do to jest jak ale co o od po tak",
    "cs": "a v se na je že to s z do o ve pro jako ale by jsem",
    "tr": "ve bir bu da de için ile çok ne olarak daha gibi ama en mi",
    "id": "dan yang di ini itu dengan untuk tidak dari dalam akan ada ke juga",
    "fi": "ja on ei se että oli hän mutta kun niin tai ovat myös ole",
    "vi": "và của là có không những được trong các một cho với người này",
    "ro": "și de la în cu nu că pe o un este pentru se care din",
    "ca": "i de la el que en els les per amb no una és al del",
    "hu": "a az és hogy nem egy is van meg de csak el már",
    "ru": "и в не на что я с он как это по но из у за от так",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "uk": "і в не на що я з він як це та але до у за від",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "bg": "и в не на че да се от за е по са с като",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "ar": "في من على أن إلى هذا التي عن ما لا مع هو",
    "fa": "و در به از که این را با است برای آن",
    "ur": "کے میں کی ہے اور سے کو کا نے",
}
STOPWORD_SETS = {lang: frozenset(words.split()) for lang, words in STOPWORDS.items()}
STOPWORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _lang, _words_of_lang in STOPWORDS.items():
    for _word in _words_of_lang.split():
        STOPWORD_LANGUAGES[_word] = (*STOPWORD_LANGUAGES.get(_word, ()), _lang)
# Languages written with spaces between words, by script code; the first is the default.
LANGUAGES_BY_SCRIPT = {
    "L": (
        "en",
        "fr",
        "de",
        "es",
        "it",
        "pt",
        "nl",
        "sv",
        "da",
        "nb",
        "pl",
        "cs",
        "tr",
        "id",
        "fi",
        "vi",
        "ro",
        "ca",
        "hu",
    ),
    "C": ("ru", "uk", "bg"),
    "A": ("ar", "fa", "ur"),
    "G": ("el",),
    "H": ("he",),
    "D": ("hi",),
    "B": ("bn",),
    "T": ("ta",),
}
