"""Typing slips read as the word meant, for the sentence classifier: "where is my pacrel", "I can't aford
the subscription", "check ur paymnet options".

Why: the sentence embedding cuts an unknown word into word pieces ("pay", "##m", "##net"), which carry
none of the word's meaning, so a misspelt request lands far from its intent, or far enough from every
example to be refused. DIET copes better (its character n-grams overlap the right word) but is the less
reliable of the two on other people's wording.

A word is corrected only when it is not a known word (spaCy's frequent English words and its lemma
table's forms, from spacy-lookups-data; words our training data uses twice or marks as entities) and
exactly one edit away from one (a letter left out, added, changed, or two swapped). Among the candidates
a word of our own data comes first, then the likeliest slip: the word's frequency times how often that
edit happens on a keyboard. A letter left out, two swapped, a key next to the right one, a letter typed
twice are common; a letter changed for one across the keyboard ("plae" as "play") or added out of the
blue ("wehre" as "were") is not, so "plae" reads as "place" and "wehre" as "where". Short words (under
MIN_LENGTH letters) are left alone: "ur", "u", "pls" are how people write, and with so few letters one
edit reaches too many words. Only the classifier's reading of the message changes; the message, its
entities and DIET's features keep what was typed.
"""
from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from importlib import resources
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple, cast

MIN_LENGTH = 4
MAX_LENGTH = 24  # longer words are stored nowhere and corrected never: a slip that long is rare
# spaCy's log probabilities (a web corpus): "refund" -11.7, "rebate" -13.5, "modalities" -16.0; below
# this the table holds as many slips ("accout" -16.8, "chnage" -18.0) as rare words. Rare words are
# still known from the lemma table, a dictionary's forms ("rebating", "fobbing").
KNOWN_LOG_PROBABILITY = -16.0
# A whitespace-separated chunk that may be a slip: letters only, with punctuation around them. Emails,
# numbers, "haven't" and "KC-10482" are not.
_CHUNK = re.compile(r"""([("'“‘]*)([A-Za-z]+)([.,!?;:)"'”’]*)""")
_WORD = re.compile(r"[A-Za-z]+")
OURS_KNOWN_AT = 2  # a word our data uses this often is a word, not a slip (a slip we wrote comes once)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Log-probability cost of an edit that a finger seldom makes: a key far from the right one, a letter
# added next to letters whose keys are far from its own. About one slip in twenty: a candidate reached
# that way must be twenty times as frequent as one reached by a common slip to win.
UNLIKELY_EDIT = 3.0
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> Dict[str, FrozenSet[str]]:
    """Each letter's neighbours on a QWERTY keyboard (same row either side, the rows above and below)."""
    where = {key: (row, column) for row, keys in enumerate(_ROWS) for column, key in enumerate(keys)}
    return {key: frozenset(other for other, (r, c) in where.items()
                           if other != key and abs(r - row) <= 1 and -1 <= c - column + (r - row) * 0.5 <= 1)
            for key, (row, column) in where.items()}


_NEAR = _keyboard_neighbours()


def _table(name: str) -> Dict[str, Any]:
    table = resources.files("spacy_lookups_data") / "data" / f"en_{name}.json.gz"
    with table.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return cast(Dict[str, Any], json.load(text))


def english_words(min_log_probability: float = KNOWN_LOG_PROBABILITY) -> Dict[str, float]:
    """Lower-case English words with a log probability each: the frequent ones of spaCy's word
    frequencies, every form in its lemma table, and contractions typed without the apostrophe."""
    probabilities: Dict[str, float] = _table("lexeme_prob")
    words = {word: p for word, p in probabilities.items() if p >= min_log_probability and _plain(word)}
    lemmas = _table("lemma_lookup")
    for word in {*lemmas, *lemmas.values(), "cannot"}:
        if _plain(word) and word not in words:
            words[word] = max(probabilities.get(word, min_log_probability), min_log_probability - 1)
    for word, p in probabilities.items():  # "havent", "dont", "werent": how people type them
        if "'" in word and _plain(bare := word.replace("'", "")) and p >= min_log_probability - 3:
            words.setdefault(bare, p)
    return words


def _plain(word: str) -> bool:
    return len(word) <= MAX_LENGTH and word.isascii() and word.isalpha() and word.islower()


def _one_edit(typed: str) -> Iterable[Tuple[str, bool]]:
    """Every string one edit from what was typed, with whether that slip is a common one."""
    splits = [(typed[:i], typed[i:]) for i in range(len(typed) + 1)]
    for left, right in splits:
        if right:
            extra = right[0]  # typed but not meant: common when doubled or next to a neighbouring key
            beside = left[-1:] + right[1:2]
            yield left + right[1:], extra in beside or bool(_NEAR[extra] & set(beside))
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:], True
            for letter in _LETTERS:
                yield left + letter + right[1:], letter in _NEAR[extra]
        for letter in _LETTERS:  # meant but left out
            yield left + letter + right, True


class Speller:
    """Known words with a log probability each; the words of our own data are preferred among the
    candidates for a slip, but a slip in our data is corrected like any other (the model learns the
    word meant). Names the data marks as entities (products) are known words."""

    def __init__(self, words: Dict[str, float], ours: Iterable[str] = ()) -> None:
        self.words = dict(words)
        self.ours = frozenset(ours)

    @classmethod
    def for_training_data(cls, texts: Iterable[str], names: Iterable[str] = ()) -> "Speller":
        words = english_words()
        for name in names:
            for word in _WORD.findall(name.lower()):
                words.setdefault(word, KNOWN_LOG_PROBABILITY)
        counts = Counter(word.lower() for text in texts for word in _WORD.findall(text))
        for word, count in counts.items():  # "hiya", "hallo": ours on purpose, more than once
            if count >= OURS_KNOWN_AT:
                words.setdefault(word, KNOWN_LOG_PROBABILITY)
        return cls(words, counts)

    def correction(self, word: str) -> Optional[str]:
        """The word meant, or None when ``word`` is known, too short, or no known word is one edit away."""
        lower = word.lower()
        if not MIN_LENGTH <= len(lower) <= MAX_LENGTH + 1 or lower in self.words:
            return None
        candidates: Dict[str, float] = {}
        for candidate, common in _one_edit(lower):
            if candidate in self.words:
                likelihood = self.words[candidate] - (0.0 if common else UNLIKELY_EDIT)
                candidates[candidate] = max(likelihood, candidates.get(candidate, likelihood))
        if not candidates:
            return None
        return max(candidates, key=lambda c: (c in self.ours, candidates[c], c))

    def correct(self, text: str) -> str:
        """``text`` with each slip replaced by the word meant; everything else as typed. A capitalised
        word after the first is left alone: a name ("Quay Street", "Nespresso") is not a slip."""
        def chunk(match: re.Match[str]) -> str:
            found = _CHUNK.fullmatch(match.group())
            if not found:
                return match.group()
            before, word, after = found.groups()
            if match.start() > 0 and word[0].isupper():
                return match.group()
            return before + (self.correction(word) or word) + after
        return re.sub(r"\S+", chunk, text)

    def state(self) -> Tuple[List[str], List[float], List[str]]:
        """What a model stores: the known words, their log probabilities, and our own words."""
        words = sorted(self.words)
        return words, [self.words[word] for word in words], sorted(self.ours)
