"""The reply to a product question, rendered from the catalog when it is asked (no retraining for a new
price or stock count): price (with variants), stock, "do you sell …", or a recommendation.

Never a made-up fact: a product without a price says so and points to its page or a person; a stock
nobody counts is not called "in stock"; a product we don't carry is named back to the customer with
the offer of a person, rather than a near miss presented as an answer.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Dict, FrozenSet, List, Optional, Sequence

from actions.services.catalog.matching import KEYWORD, Found, explains, find_products, named_thing
from actions.services.catalog.products import Product, Variant
from actions.services.intent_labels import intent_button
from actions.services.shop_profile import ShopProfile

MAX_LISTED = 4        # products listed for one question before "and N more"
MAX_SUGGESTED = 3     # products recommended for one need
LOW_STOCK = 3         # "only 2 left"

_STOCK = re.compile(r"\bin[- ]?stock|\bout of stock|\bsold out|\bavailab|\bavail\b|\brestock|\bback in\b|"
                    r"\bstock (?:level|left|status|check)|\bany left\b|\bhave any left|\bleft in\b|"
                    r"\bcan i (?:still )?get\b|\bin store\b|\bis there any\b")
_PRICE = re.compile(r"\bpric|\bprize\b|\bcost|\bhow mu[ct]h|\bhow mch\b|\bhow expensive|\bcheap|£|\$|€|"
                    r"\bquid\b|\bbucks\b|\bafford")
_RECOMMEND = re.compile(r"\brecc?omm?end|\bsuggest|\badvi[cs]e|\bbest\b|\bbetter\b|\bgood for\b|"
                        r"\bwhich (?:one|\w+) (?:should|would|do you|is)|\bwhat (?:\w+ )?should i\b|"
                        r"\bgift for\b|\bpresent for\b|\bideal for\b|\bsomething for\b|\bgood (?:\w+ )?for\b")


def asked_aspects(text: str) -> FrozenSet[str]:
    """What the question is about: any of price, stock, recommend; none means "do you sell it?"."""
    lower = text.lower()
    aspects = set()
    if _STOCK.search(lower):
        aspects.add("stock")
    if _PRICE.search(lower):
        aspects.add("price")
    if _RECOMMEND.search(lower):
        aspects.add("recommend")
    return frozenset(aspects)


def _money(shop: ShopProfile, amount: Decimal) -> str:
    return shop.money(float(amount))


def _price_text(shop: ShopProfile, product: Product, variants: Sequence[Variant] = ()) -> Optional[str]:
    """"£45 (6 cup), £49 (8 cup)", "£34.95", or None when no price is known."""
    priced = [(v, p) for v in (variants or product.variants) if (p := product.variant_price(v)) is not None]
    if product.variants and priced:
        prices = {p for _, p in priced}
        if len(prices) == 1 and not variants and len(priced) == len(product.variants):
            return _money(shop, prices.pop())  # one price for every variant: say it once
        return ", ".join(_priced(_money(shop, p), v.name) for v, p in priced)
    return _money(shop, product.price) if product.price is not None else None


def _priced(price: str, name: str) -> str:
    return price if name == price else f"{price} ({name})"  # a gift card's "£10" variant is its price


def _stock_text(product: Product, variants: Sequence[Variant] = ()) -> Optional[str]:
    """"in stock", "only 2 left", "sold out", per variant when they are counted; None when not counted."""
    counted = [v for v in (variants or product.variants) if v.stock is not None]
    if counted:
        return "; ".join(f"{v.name}: {_count_words(v.stock)}" for v in counted)  # type: ignore[arg-type]
    return None if product.stock is None else _count_words(product.stock)


def _count_words(stock: int) -> str:
    if stock <= 0:
        return "sold out"
    return f"in stock (only {stock} left)" if stock <= LOW_STOCK else "in stock"


def _link(shop: ShopProfile, product: Product) -> str:
    return product.url or shop.website


def _person(text: str) -> Dict[str, Any]:
    return {"text": text, "buttons": [intent_button("human_handoff")]}


def _answer(text: str) -> Dict[str, Any]:
    return {"text": text, "buttons": [intent_button("place_order"), intent_button("shipping_options")]}


def _one(shop: ShopProfile, found: Found, aspects: FrozenSet[str]) -> Dict[str, Any]:
    product, variants = found.product, found.variants
    link = _link(shop, product)
    more = f"\n{link}" if link else ""
    price = _price_text(shop, product, variants)
    stock = _stock_text(product, variants)
    no_price = (f"I don't have a price for {product.title} here; " +
                ("its page has it: " + link if link else "a person can tell you."))
    if "stock" in aspects:
        if stock is None:
            text = (f"We sell {product.title}, but I can't see how many are in stock; if you can add it to "
                    f"your basket, it's available.{more}")
            return _answer(text)
        counted = [v for v in (variants or product.variants) if v.stock is not None]
        if all(v.stock == 0 for v in counted) if counted else product.stock == 0:
            which = f"{product.title} ({', '.join(v.name for v in variants)})" if variants else product.title
            others = [v.name for v in product.variants if v not in variants and v.stock] if variants else []
            also = f" In stock: {', '.join(others)}." if others else ""
            return _person(f"Sorry, {which} is sold out right now.{also} A person can tell you when it's "
                           f"back, or suggest something similar.{more}")
        text = f"{product.title}: {stock}."
        if "price" in aspects:
            text += f" {'Price: ' + price + '.' if price else no_price}"
        if "sold out" in stock:
            return _person(text + f" A person can tell you when the sold-out ones are back.{more}")
        return _answer(text + more)
    if "price" in aspects:
        if price is None:
            return _person(no_price)
        return _answer(f"{product.title}: {price}.{more}")
    if "recommend" in aspects:  # "is the V60 good for a beginner?": what it is and costs, they decide
        about = f" {product.description}" if product.description else ""
        return _answer(f"{product.title}:{about} {price or no_price}{'.' if price else ''}{more}")
    line = f"Yes, we sell {product.title}" + (f": {product.description}" if product.description else ".")
    if not line.endswith("."):
        line += "."
    if price:
        line += f" {price}."
    if product.in_stock is False:
        line += " It's sold out right now."
    return _answer(line + more)


def _listing(shop: ShopProfile, found: Sequence[Found], aspects: FrozenSet[str],
             intro: str) -> Dict[str, Any]:
    lines = [intro]
    for item in found[:MAX_LISTED]:
        details = [d for d in (_price_text(shop, item.product, item.variants) or "no price here",
                               _stock_text(item.product, item.variants) if "stock" in aspects else None) if d]
        line = f"• {item.product.title}: {', '.join(details)}"
        if "recommend" in aspects and item.product.description:
            line += f". {item.product.description}"
        lines.append(line)
    if len(found) > MAX_LISTED and shop.website:
        lines.append(f"…and {len(found) - MAX_LISTED} more: {shop.website}")
    return _answer("\n".join(lines))


def _follow_up(text: str, earlier: Sequence[str], products: Sequence[Product]) -> List[Found]:
    """"Is it in stock?", "and the 8 cup?" after a question that named a product: that product. Only when
    this message names nothing else ("do you have kettles" after the Chemex is about kettles)."""
    named = named_thing(text)
    for before in earlier[:2]:
        found = find_products(f"{before} {text}", products)
        if found and explains(found, named):
            return found
    return []


def product_reply(text: str, products: Sequence[Product], shop: ShopProfile,
                  earlier: Sequence[str] = ()) -> Dict[str, Any]:
    """The bot message (text + buttons) answering ``text``, a question about the shop's products;
    ``earlier``: the conversation's previous product questions, latest first, for "is it in stock?"."""
    aspects = asked_aspects(text)
    found = find_products(text, products)
    if not found and earlier:
        found = _follow_up(text, earlier, products)
        aspects = aspects or asked_aspects(earlier[0])
    if not found:
        named = named_thing(text)
        where = f" Everything we sell is at {shop.website}." if shop.website else ""
        if not named:
            return _person("Which product do you mean? Tell me its name and I'll look it up, or ask a person."
                           + where)
        return _person(f"Sorry, we don't seem to carry \"{named}\". A person can check for you, or suggest "
                       f"something close.{where}")
    if "recommend" in aspects and len(found) > 1:
        intro = "I'd suggest:" if found[0].score == KEYWORD else "Here's how they compare:"
        return _listing(shop, found[:MAX_SUGGESTED], aspects, intro)
    if found[0].score == KEYWORD and len(found) > 1:
        return _listing(shop, found, aspects, f"We have {len(found)} that match:")
    if len(found) == 1:
        return _one(shop, found[0], aspects)
    return _listing(shop, found, aspects, "Here's what I found:")
