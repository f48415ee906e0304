"""The spaCy pipeline built from code: lemmas, and the entity ruler's shop patterns."""
from __future__ import annotations

import dataclasses

import pytest
import spacy

from bot.nlp.pipeline import build_pipeline, order_number_regex, write_pipeline


@pytest.fixture(scope="module")
def nlp(request):
    from actions.services.shop_profile import load_shop_profile
    from tests.conftest import ROOT

    return build_pipeline(load_shop_profile(ROOT / "shop.yml"))


def ents(nlp, text):
    return [(e.text, e.label_) for e in nlp(text).ents]


@pytest.mark.parametrize("text,found", [
    ("where is KC-10482?", [("KC-10482", "order_id")]),
    ("order kc10482 pls", [("kc10482", "order_id")]),
    ("it's #KC-20931, thanks", [("KC-20931", "order_id")]),  # "#" is its own token
    ("order kc-20931, thanks", [("kc-20931", "order_id")]),
    ("KC-1048 is too short and KC-104822 too long", []),
    ("AB-10482 is another shop's", []),
    ("mail me at tom.h@mailbox.org.", [("tom.h@mailbox.org", "email")]),
    ("call 07700 900461", [("07700 900461", "phone")]),
    ("or +44 7700 900123 after six", [("+44 7700 900123", "phone")]),
    ("landline 0117 496 0321", [("0117 496 0321", "phone")]),
    ("07700900812 is my mobile", [("07700900812", "phone")]),
    ("US number 555-123-4567", [("555-123-4567", "phone")]),
    ("I ordered 3 mugs in 2024 and waited 12 days", []),
    ("my aeropress and the Hario V60 arrived", [("aeropress", "product"), ("Hario V60", "product")]),
    ("a bag of ethiopia yirgacheffe", [("ethiopia yirgacheffe", "product")]),
])
def test_entity_patterns(nlp, text, found):
    assert ents(nlp, text) == found


def test_lookup_lemmas(nlp):
    assert [t.lemma_ for t in nlp("my parcels were running late")] == ["my", "parcel", "be", "run", "late"]


def test_order_regex_follows_shop_format(shop):
    assert order_number_regex(shop) == r"(?i)^#?KC-?\d{5}$"


def test_written_pipeline_loads_by_path_with_its_patterns(shop, tmp_path):
    target = tmp_path / "en_shop"
    assert write_pipeline(shop, target)
    loaded = spacy.load(target)
    assert loaded.pipe_names == ["lemmatizer", "entity_ruler"]
    assert [(e.text, e.label_) for e in loaded("refund for KC-55555").ents] == [("KC-55555", "order_id")]


def test_policy_edit_leaves_the_pipeline_untouched_but_a_new_product_rewrites_it(shop, tmp_path):
    target = tmp_path / "en_shop"
    write_pipeline(shop, target)
    written = (target / "meta.json").stat().st_mtime_ns
    longer_returns = dataclasses.replace(shop, return_window_days=60)
    assert not write_pipeline(longer_returns, target)  # `make` will not retrain for a policy change
    assert (target / "meta.json").stat().st_mtime_ns == written
    assert write_pipeline(dataclasses.replace(shop, catalog=shop.catalog + ("Pour-over Kettle",)), target)
    assert spacy.load(target)("is the pour-over kettle back").ents[0].label_ == "product"
