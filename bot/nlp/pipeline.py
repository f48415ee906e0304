"""Build the project's own spaCy pipeline from code.

The official English model packages cannot be downloaded here, so we build one: blank English,
the lookup lemmatizer from spacy-lookups-data, and an entity ruler that knows the shop's order
number format, emails, phone numbers and catalog product names. Rasa's SpacyNLP loads it by path.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, cast

import spacy
from spacy.language import Language
from spacy.pipeline import EntityRuler

from actions.services.shop_profile import ShopProfile

DEFAULT_PIPELINE_DIR = Path("build/spacy/en_shop")

# Phone numbers as the English tokenizer splits them: "07700 900461", "0117 496 0321",
# "+44 7700 900123", "+44 20 7946 0958", "555-123-4567", "07700900812".
_PHONE_SHAPES: List[List[str]] = [
    [r"^\+?\d{10,14}$"],
    [r"^\+\d{1,3}$", r"^\d{3,5}$", r"^\d{5,8}$"],
    [r"^\+\d{1,3}$", r"^\d{2,4}$", r"^\d{3,4}$", r"^\d{3,4}$"],
    [r"^0\d{3,4}$", r"^\d{5,7}$"],
    [r"^0\d{2,4}$", r"^\d{3,4}$", r"^\d{3,4}$"],
    [r"^\d{3}$", r"^-$", r"^\d{3}$", r"^-$", r"^\d{4}$"],
    [r"^\+?\d{3,5}-\d{3,4}-\d{3,4}$"],
]


def order_number_regex(shop: ShopProfile) -> str:
    """One token that is an order number as customers type it: KC-10482, kc10482, #KC-10482."""
    letters = re.escape(shop.order_number.prefix.rstrip("-"))
    return rf"(?i)^#?{letters}-?\d{{{shop.order_number.digits}}}$"


def entity_patterns(shop: ShopProfile) -> List[Dict[str, Any]]:
    patterns: List[Dict[str, Any]] = [
        {"label": "order_id", "pattern": [{"TEXT": {"REGEX": order_number_regex(shop)}}]},
        {"label": "email", "pattern": [{"LIKE_EMAIL": True}]},
    ]
    patterns += [
        {"label": "phone", "pattern": [{"TEXT": {"REGEX": shape}} for shape in shapes]}
        for shapes in _PHONE_SHAPES
    ]
    patterns += [{"label": "product", "pattern": name.lower()} for name in shop.catalog]
    return patterns


def build_pipeline(shop: ShopProfile) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data
    # Added after initialize(), which would empty an entity ruler's patterns.
    ruler = cast(EntityRuler, nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"}))
    ruler.add_patterns(entity_patterns(shop))
    nlp.meta["name"] = "en_shop"
    nlp.meta["description"] = f"Pipeline for {shop.name}: lookup lemmas and shop entity patterns"
    return nlp


def _same_files(first: Path, second: Path) -> bool:
    def contents(root: Path) -> Dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    return second.is_dir() and contents(first) == contents(second)


def write_pipeline(shop: ShopProfile, target: Path = DEFAULT_PIPELINE_DIR) -> bool:
    """Write the pipeline; False when it is identical to the one already there, which is left untouched.

    shop.yml holds policies too; editing the return window must not make `make` retrain the model
    (its files' times stay as they were unless the catalog or order number format changed).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        fresh = Path(scratch) / target.name
        build_pipeline(shop).to_disk(fresh)
        if _same_files(fresh, target):
            return False
        shutil.rmtree(target, ignore_errors=True)
        fresh.rename(target)
    return True
