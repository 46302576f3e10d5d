"""Swedish text for TF-IDF: lower case, words, stop words out, Snowball's Swedish stemmer."""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from matchning.reference.catalog import normalise

WORD = re.compile(r"[a-zåäöéü]{2,}")
# Function words that say nothing about a job (a short list; TF-IDF discounts the rest).
_STOP_WORDS = """
och i att det som en på är av för med till den har de inte om ett han men var jag sig
från vi så kan man när år säga hon under också efter eller nu sin där vid mot ska skall
hade kommer finns vara blev du dig din ditt dina vår våra er ert era dem deras vilken vilket
vilka här bara mycket mer mest alla allt andra annan annat hos oss sina sitt sedan redan
över även utan inom samt både ingen inget inga någon något några hur vad varför dessa
detta denna då ju nog the and or of to in is are we you our för vill
"""
STOP = frozenset(_STOP_WORDS.split())


_STEMMER = snowballstemmer.stemmer("swedish")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    # Texts repeat the same words endlessly; stemming each only once is most of the speed.
    return _STEMMER.stemWord(word)


def swedish_tokens(text: str) -> list[str]:
    """Stemmed content words of a Swedish text."""
    return [_stem(w) for w in WORD.findall(normalise(text)) if w not in STOP]


def skill_labels(labels) -> list[str]:
    """Skill labels as comparable keys (the analyzer of the skill vectoriser)."""
    return sorted({normalise(label) for label in labels or () if label and label.strip()})
