"""Which of the shop's products a customer's message names, and what it asks about them.

The customer's raw words are matched against every product's title, its variants and its keywords, so
the answer does not depend on the NLU model having tagged a ``product`` entity, and an imported catalog
works without retraining. Typing slips are forgiven ("chemx", "aeropres", "yirgachefe": one letter off
in words of five or more, two in words of eight or more), as are plurals ("grinders"), accents
("cafetière") and split or joined words ("aero press", "v 60", "frenchpress").

A product is named, best first, by its whole title; by a word of its title that no other product uses
(in its title or keywords: "v60", "hario", "frother"); or, last, by its keywords ("decaf", "tea",
"espresso"), ranked by how many of them the message has.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, FrozenSet, List, Sequence, Set, Tuple

from actions.services.catalog.products import Product, Variant

TITLE, DISTINCT, KEYWORD = 3, 2, 1

# Words of a title too common to name a product on their own ("water" is not Decaf Swiss Water).
_TOO_COMMON = frozenset({
    "the", "a", "an", "and", "of", "for", "with", "to", "in", "on", "by", "box", "water", "green",
    "white", "black", "red", "blue", "set", "pack", "bag", "original", "classic", "new", "big",
    "small", "large", "mini", "one", "two", "home", "shop", "coffee", "tea", "card", "gift", "kit",
})

# Everything in a question that is not the thing asked about (for "we don't seem to carry <it>").
_FILLER = frozenset("""
a an the any some your you u ya yall y'all guys do does did dont don't doesnt can could would will shall
is are was were be been being have has had got get gotten sell sells selling sold carry carries stock
stocks stocked offer offers make makes do you i i'm im me my mine we us our it its it's this that these
those there here what whats what's which who how much many price prices pricing priced cost costs costing
expensive cheap how's hows tell know if whether please pls plz thanks thank thx cheers hi hello hey hiya
morning afternoon evening good okay ok so just also too really still currently right now today left
available availability in out of at on for to from about info information details detail want wanna
need needed looking look find buy purchase order ordering recommend recommendation suggest suggestion
advice best better good should kind sort type types like something anything item items product products
again back soon yet whether or and with question quick one ones sale sells stocked there's theres
is-it isn't aren't not no yes yeah
r ur yr ya hav av wat wot wats hw hv cn u've
""".split())  # the last line: chat spellings ("how much r ur coffee beans" asks about coffee beans)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> List[str]:
    return re.findall(r"[a-z0-9]+", _plain(text).replace("'", ""))


def stem(word: str) -> str:
    """Singular of an English plural, enough for product words (grinders, boxes, cafetieres, berries)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and re.search(r"(ss|x|ch|sh)es$", word):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)  # the same catalog words meet the same customer words again and again
def _within(a: str, b: str) -> bool:
    """The same word, or one typing slip apart (two for long words); short words must be exact. A slip in
    both of the first two letters is not forgiven: it is rare, and checking it costs the most."""
    if a == b:
        return True
    limit = 2 if min(len(a), len(b)) >= 8 else 1 if min(len(a), len(b)) >= 5 else 0
    if not limit or abs(len(a) - len(b)) > limit or a[0] != b[0] and a[1] != b[1]:
        return False
    previous = list(range(len(b) + 1))  # Levenshtein distance, row by row
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= limit


@dataclass(frozen=True)
class _Message:
    tokens: Tuple[str, ...]            # stems, in order
    joined: FrozenSet[str]             # neighbours written together: "aero press" -> "aeropress"
    pieces: FrozenSet[str]             # letters and digits apart: "250g" -> "250", "g"

    @classmethod
    def of(cls, text: str) -> "_Message":
        raw = words(text)
        pairs = {a + b for a, b in zip(raw, raw[1:], strict=False)}
        # raw words too: "aeropres" is one slip from "aeropress", its stem "aeropre" two
        return cls(tuple(dict.fromkeys([stem(w) for w in raw] + raw)),
                   frozenset(pairs | {stem(p) for p in pairs}),
                   frozenset(stem(p) for p in _pieces(text)))

    def has(self, word: str) -> bool:
        return any(_within(word, token) for token in self.tokens + tuple(self.joined))

    def has_phrase(self, phrase: str) -> bool:
        parts = [stem(w) for w in words(phrase)]
        return bool(parts) and (all(self.has(p) for p in parts) or self.has("".join(parts)))


@dataclass(frozen=True)
class Found:
    product: Product
    score: int                                # TITLE, DISTINCT or KEYWORD
    variants: Tuple[Variant, ...] = ()        # the variants the message names, if any
    keywords: Tuple[str, ...] = ()            # the product's keywords the message has
    weight: float = 0.0                       # keyword matches: rarer keywords weigh more


def _pieces(text: str) -> List[str]:
    return re.findall(r"[a-z]+|[0-9]+", _plain(text))


def _title_words(product: Product) -> List[str]:
    return [stem(w) for w in words(product.title)]


def _distinct_words(products: Sequence[Product]) -> Dict[str, Set[str]]:
    """For each title, the words of it that no other product uses, in its title or its keywords."""
    uses: Dict[str, Set[str]] = {}
    for product in products:
        for word in set(_title_words(product)) | {stem(w) for k in product.keywords for w in words(k)}:
            uses.setdefault(word, set()).add(product.title)
    return {p.title: {w for w in _title_words(p) if uses.get(w) == {p.title} and w not in _TOO_COMMON
                      and len(w) >= 3} for p in products}


def _has_piece(message: _Message, piece: str) -> bool:
    if piece.isdigit() or len(piece) < 3:  # numbers and units exactly: "8 cup" is not "6 cup"
        return piece in message.pieces
    return any(_within(piece, m) for m in message.pieces)


def _named_variants(message: _Message, product: Product) -> Tuple[Tuple[Variant, ...], bool]:
    """The variants the message names, and whether one of them is named in full. A variant is named by
    all of its words, or by a word only it has among its product's variants ("1kg", "8 cup", "white")."""
    parts = {v.name: {stem(w) for w in _pieces(v.name)} for v in product.variants}
    named, full = [], False
    for variant in product.variants:
        own = parts[variant.name] - set().union(*(p for n, p in parts.items() if n != variant.name))
        if parts[variant.name] and all(_has_piece(message, p) for p in parts[variant.name]):
            named.append(variant)
            full = True
        elif any(_has_piece(message, p) for p in own):
            named.append(variant)
    return tuple(named), full


def find_products(text: str, products: Sequence[Product]) -> List[Found]:
    """The products the message names, best matches only, in catalog order (keyword matches: most
    keywords first). Empty when it names none of them."""
    message = _Message.of(text)
    distinct = _distinct_words(products)
    sharing: Dict[str, int] = {}  # how many products have each keyword: "coffee" says less than "decaf"
    for product in products:
        for keyword in set(product.keywords):
            sharing[keyword] = sharing.get(keyword, 0) + 1
    found: List[Found] = []
    for product in products:
        title = _title_words(product)
        variants, full_variant = _named_variants(message, product)
        keywords = tuple(k for k in product.keywords if message.has_phrase(k))
        weight = sum(1 / sharing[k] for k in set(keywords)) + len(variants)
        if title and (all(message.has(w) for w in title) or message.has("".join(title))):
            found.append(Found(product, TITLE, variants, keywords, weight))
        elif any(message.has(w) for w in distinct[product.title]):
            found.append(Found(product, DISTINCT, variants, keywords, weight))
        elif keywords or full_variant and any(re.search(r"[a-z]{4}", v.name.lower()) for v in variants):
            found.append(Found(product, KEYWORD, variants, keywords, weight or 0.01))
    if not found:
        return []
    best = max(f.score for f in found)
    # Every product named by its title or its own word ("the chemex or the v60"); keywords only without
    chosen = [f for f in found if f.score == best or f.score > KEYWORD]
    if best == KEYWORD:
        if not explains(chosen, named_thing(text)):
            return []  # "oat milk": "milk" is a keyword of the frother, but nobody sells oat milk here
        chosen.sort(key=lambda f: -f.weight)  # stable: catalog order among equals
    return chosen


def explains(found: Sequence[Found], named: str) -> bool:
    """Whether every word the customer named is a word of a found product (title, keyword, variant)."""
    known = set()
    for f in found:
        known.update(_pieces(f.product.title))
        known.update(p for k in f.product.keywords for p in _pieces(k))
        known.update(p for v in f.product.variants for p in _pieces(v.name))
    known_stems = {stem(k) for k in known}
    return all(any(_within(stem(p), k) for k in known_stems) for p in _pieces(named))


def named_thing(text: str, limit: int = 4) -> str:
    """What the customer asked about, in their words, when it is none of our products: "got any oat
    milk?" -> "oat milk". The first run of words that are not question words; "" when there is none."""
    before_purpose = re.split(r"\b(?:for|to use with|so that|because)\b", _plain(text), maxsplit=1)[0]
    run: List[str] = []
    for word in re.findall(r"[a-z0-9][a-z0-9'\-]*", before_purpose):
        if word.strip("'-") in _FILLER or word.endswith("'s") and word[:-2] in _FILLER:
            if run:
                break
            continue
        run.append(word.strip("'-"))
        if len(run) == limit:
            break
    return " ".join(run)[:40].strip()
