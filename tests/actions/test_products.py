"""Product questions answered from the catalog: the product found in the customer's own words (typos,
plurals, products the model never saw), the aspect asked (price, stock, do you sell, what to choose),
nothing invented, and a person offered when we don't carry it. The action runs with the real domain."""
from __future__ import annotations

import asyncio
import copy
from decimal import Decimal

import pytest
import yaml

from actions.products import ActionAnswerProduct
from actions.services.catalog.answers import asked_aspects, product_reply
from actions.services.catalog.matching import find_products, named_thing
from actions.services.catalog.products import Product, Variant
from actions.services.catalog.store import ProductStore
from actions.services.orders import OrderService
from actions.services.shop_profile import parse_shop_profile, shop_profile_dict
from tests.conftest import ROOT, tracker_for

PERSON = {"title": "Talk to a person", "payload": "/human_handoff"}


def titles(text, shop):
    return [f.product.title for f in find_products(text, shop.products)]


@pytest.mark.parametrize("text,expected", [
    ("how much is the Chemex?", ["Chemex"]),
    ("chemx price?", ["Chemex"]),
    ("is the aeropres in stock", ["AeroPress"]),
    ("aero press?", ["AeroPress"]),
    ("is the V60 in stock?", ["Hario V60"]),
    ("v 60 price", ["Hario V60"]),
    ("do you sell decaf?", ["Decaf Swiss Water"]),
    ("do you have grinders", ["Burr Grinder"]),
    ("is the frenchpress any good", ["French Press"]),
    ("yirgachefe in stock?", ["Ethiopia Yirgacheffe"]),
    ("do u have gift cards", ["Gift Card"]),
    ("how much is a cafetière", ["Brazil Cerrado", "French Press"]),  # keywords, accents ignored
    ("do you sell tea", ["Earl Grey", "Sencha Green Tea", "Chai Masala"]),
    ("got any oat milk?", []),       # "milk" is a frother keyword, but nobody sells oat milk here
    ("do you have a blender", []),
    ("do you sell water", []),       # not Decaf Swiss Water: too common a word to name it
    ("how much r ur coffee beans", ["House Espresso Blend", "Colombia Huila", "Ethiopia Yirgacheffe",
                                    "Brazil Cerrado", "Decaf Swiss Water", "Subscription Box"]),
])
def test_the_product_is_found_in_the_customers_words(shop, text, expected):
    assert titles(text, shop) == expected


def test_rarer_keywords_rank_first_for_a_need(shop):
    assert titles("what do you recommend for filter coffee?", shop)[:3] == [
        "Colombia Huila", "Ethiopia Yirgacheffe", "Hario V60"]


def test_a_variant_is_named_by_what_only_it_has(shop):
    found = find_products("how much is the 1kg house blend", shop.products)
    assert [(f.product.title, [v.name for v in f.variants]) for f in found] == [
        ("House Espresso Blend", ["1 kg whole bean"])]
    assert [v.name for v in find_products("8 cup chemex", shop.products)[0].variants] == ["8 cup"]


@pytest.mark.parametrize("text,aspects", [
    ("how much is the chemex", {"price"}),
    ("is the v60 in stock", {"stock"}),
    ("do you stock decaf", set()),   # "do you stock" is "do you sell"
    ("is the chemex available and how much is it", {"stock", "price"}),
    ("what grinder do you recommend for espresso?", {"recommend"}),
    ("do you sell decaf?", set()),
])
def test_the_aspect_asked(text, aspects):
    assert asked_aspects(text) == aspects


@pytest.mark.parametrize("text,named", [
    ("got any oat milk?", "oat milk"), ("do you sell a blender", "blender"),
    ("how much are your kettles", "kettles"), ("I want information about matcha", "matcha"),
    ("can you tell me if you have cups", "cups"), ("what do you recommend for my dad", ""),
    ("how much r ur coffee beans", "coffee beans"), ("do u hav oat milk", "oat milk"),
    ("wat kettles do u sell", "kettles"),
])
def test_what_the_customer_named(text, named):
    assert named_thing(text) == named


# ---- the replies ----

def reply(shop, text, products=None):
    return product_reply(text, products if products is not None else shop.products, shop)


def test_price_with_variants_and_link(shop):
    answer = reply(shop, "how much is the Chemex?")
    assert answer["text"] == "Chemex: £45 (6 cup), £49 (8 cup).\nhttps://kettleandcrumb.example/products/chemex"
    assert PERSON not in answer["buttons"]
    assert reply(shop, "price of the aeropress pls")["text"].startswith("AeroPress: £34.95.")
    assert reply(shop, "how much is the 8 cup chemex")["text"].startswith("Chemex: £49 (8 cup).")


def test_stock_in_stock_low_and_sold_out(shop):
    assert reply(shop, "is the french press in stock")["text"].startswith("French Press: in stock.")
    assert reply(shop, "burr grinder in stock?")["text"].startswith("Burr Grinder: in stock (only 2 left).")
    sold_out = reply(shop, "is the yirgacheffe in stock")
    assert sold_out["text"].startswith("Sorry, Ethiopia Yirgacheffe is sold out right now.")
    assert PERSON in sold_out["buttons"]
    mixed = reply(shop, "is the V60 in stock?")
    assert mixed["text"].startswith("Hario V60: white ceramic: in stock; clear plastic: sold out.")
    assert PERSON in mixed["buttons"]
    one = reply(shop, "is the 8 cup chemex available")["text"]
    assert one.startswith("Sorry, Chemex (8 cup) is sold out right now. In stock: 6 cup.")


def test_stock_nobody_counts_is_not_called_in_stock(shop):
    text = reply(shop, "is the subscription box in stock")["text"]
    assert "can't see how many are in stock" in text and "Subscription Box: in stock" not in text


def test_do_you_sell_gives_one_line_the_price_and_the_link(shop):
    text = reply(shop, "do you sell decaf?")["text"]
    assert text == ("Yes, we sell Decaf Swiss Water: Colombian beans decaffeinated with water only (no "
                    "chemicals); cocoa and brown sugar. £10.\n"
                    "https://kettleandcrumb.example/products/decaf-swiss-water")
    assert reply(shop, "do u have gift cards")["text"].startswith(
        "Yes, we sell Gift Card: An email gift card for the shop and the café, valid for 2 years. "
        "£10, £25, £50.")


def test_a_recommendation_lists_at_most_three(shop):
    text = reply(shop, "what grinder do you recommend for espresso?")["text"]
    assert text.startswith("Burr Grinder: Electric conical burr grinder with 40 settings, from espresso-fine "
                           "to French-press-coarse. £89.\nhttps://")
    lines = reply(shop, "what do you recommend for filter coffee?")["text"].splitlines()
    assert lines[0] == "I'd suggest:" and len(lines) == 4
    both = reply(shop, "which is better, the chemex or the v60")["text"].splitlines()
    assert both[0] == "Here's how they compare:"
    assert both[1].startswith("• Hario V60: £24 (white ceramic), £9 (clear plastic). Size 02 pour-over")
    assert both[2].startswith("• Chemex: £45 (6 cup), £49 (8 cup). The classic glass pour-over brewer")


def test_unknown_product_is_named_back_with_a_person(shop):
    answer = reply(shop, "got any oat milk?")
    assert answer["text"].startswith('Sorry, we don\'t seem to carry "oat milk". A person can check for you')
    assert "https://kettleandcrumb.example" in answer["text"] and answer["buttons"] == [PERSON]
    nothing = reply(shop, "price?")
    assert nothing["text"].startswith("Which product do you mean?") and nothing["buttons"] == [PERSON]


def test_no_price_is_ever_invented(shop):
    bare = (Product("Chemex"),)  # shop.yml's old bare-name catalog
    answer = reply(shop, "how much is the chemex", bare)
    assert "£" not in answer["text"] and "I don't have a price for Chemex here" in answer["text"]
    assert answer["buttons"] == [PERSON]
    assert reply(shop, "do you sell the chemex", bare)["text"].startswith("Yes, we sell Chemex.")


def test_a_price_change_in_shop_yml_needs_no_retraining():
    raw = copy.deepcopy(shop_profile_dict(ROOT / "shop.yml"))
    raw["catalog"][8]["price"] = 29.99   # AeroPress
    raw["catalog"][8]["stock"] = 0
    shop = parse_shop_profile(yaml.safe_dump(raw, allow_unicode=True))
    assert reply(shop, "how much is the aeropress")["text"].startswith("AeroPress: £29.99.")
    assert reply(shop, "aeropress in stock?")["text"].startswith("Sorry, AeroPress is sold out")


@pytest.mark.parametrize("earlier,text,start", [
    ("how much is the chemex", "is it in stock?", "Chemex: 6 cup: in stock (only 3 left); 8 cup: sold out."),
    ("how much is the chemex", "and the 8 cup?", "Chemex: £49 (8 cup)."),
    ("is the v60 in stock", "what about the white one", "Hario V60: white ceramic: in stock."),
    ("how much is the chemex", "do you have kettles", 'Sorry, we don\'t seem to carry "kettles"'),
    ("do you have matcha", "is it in stock?", "Which product do you mean?"),
])
def test_a_follow_up_is_about_the_product_asked_before(shop, earlier, text, start):
    assert reply_after(shop, [earlier], text).startswith(start)


def reply_after(shop, earlier, text):
    return product_reply(text, shop.products, shop, earlier)["text"]


# ---- the action, with the real domain and a database ----

def run(action, text, domain, dispatcher):
    tracker = tracker_for("product_question", text)
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    assert events == []
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


def test_the_action_is_in_the_domain_with_its_intent_and_rule(domain):
    assert "action_answer_product" in domain["actions"] and "product_question" in domain["intents"]
    rules = yaml.safe_load((ROOT / "data/rules/products.yml").read_text())["rules"]
    assert rules[0]["steps"] == [{"intent": "product_question"}, {"action": "action_answer_product"}]
    assert ActionAnswerProduct().name() == "action_answer_product"


def test_the_action_reads_the_product_asked_about_before(shop, engine, domain, dispatcher):
    tracker = tracker_for("product_question", "is it in stock?")
    asked = {"event": "user", "text": "how much is the aeropress",
             "parse_data": {"intent": {"name": "product_question"}}}
    other = {"event": "user", "text": "what are your opening hours",
             "parse_data": {"intent": {"name": "opening_hours"}}}
    tracker.events[-1:-1] = [asked, {"event": "action", "name": "action_answer_product"}, other]
    action = ActionAnswerProduct(shop=shop, orders=OrderService(engine, shop))
    asyncio.run(action.run(dispatcher, tracker, domain))
    assert dispatcher.messages[0]["text"].startswith("AeroPress: in stock.")


def test_the_action_answers_from_shop_yml_then_from_the_import(shop, engine, domain, dispatcher):
    action = ActionAnswerProduct(shop=shop, orders=OrderService(engine, shop))
    message = run(action, "how much is the chemex?", domain, dispatcher)
    assert message["text"].startswith("Chemex: £45 (6 cup), £49 (8 cup).")
    assert message["buttons"] == [{"title": "How to order", "payload": "/place_order"},
                                  {"title": "Shipping options", "payload": "/shipping_options"}]

    # Imported products replace shop.yml's at once: a product the model never saw, a new price.
    ProductStore(engine).replace_all([
        Product("Chemex", None, (Variant("6 cup", Decimal("47.00"), 2),)),
        Product("Pour-over Kettle", Decimal("39.00"), stock=5, keywords=("kettle", "pour over"))], "shopify")
    from rasa_sdk.executor import CollectingDispatcher

    assert run(action, "how much is the chemex?", domain, CollectingDispatcher())["text"].startswith(
        "Chemex: £47.")  # its only variant: the price once
    kettle = run(action, "do you sell kettles", domain, CollectingDispatcher())["text"]
    assert kettle.startswith("Yes, we sell Pour-over Kettle. £39.")
    assert "https://kettleandcrumb.example" in kettle  # no link of its own: the shop's site
    gone = run(action, "do you sell decaf", domain, CollectingDispatcher())
    assert gone["text"].startswith('Sorry, we don\'t seem to carry "decaf"') and PERSON in gone["buttons"]
