"""shop.yml validation: the real file loads, and each bad field is named in its own error."""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict

import pytest
import yaml

from actions.services.shop_profile import ShopProfileError, parse_shop_profile, shop_profile_dict
from actions.services.widget_look import contrast_ratio
from tests.conftest import ROOT

RAW = shop_profile_dict(ROOT / "shop.yml")


def variant(change: Callable[[Dict[str, Any]], None]) -> str:
    raw = copy.deepcopy(RAW)
    change(raw)
    return yaml.safe_dump(raw)


def test_real_shop_profile_loads(shop):
    assert shop.name == "Kettle & Crumb"
    assert shop.timezone.key == "Europe/London"
    assert [o.name for o in shop.shipping_options][0].startswith("Standard")
    assert shop.order_number.normalise("kc10482") == "KC-10482"
    assert shop.order_number.normalise("#KC-10482") == "KC-10482"
    assert shop.order_number.normalise("KC-1048") is None
    assert shop.money(3.95) == "£3.95" and shop.money(40) == "£40"


BAD_FIELDS = [
    ("name", lambda r: r.pop("name"), "is required"),
    ("timezone", lambda r: r.update(timezone="Mars/Olympus"), "not a time zone"),
    ("opening_hours.monday[0]", lambda r: r["opening_hours"].update(monday=["9-5"]), "not a range"),
    ("opening_hours.tuesday[0]", lambda r: r["opening_hours"].update(tuesday=["25:00-26:00"]), "not a range"),
    ("opening_hours.caturday", lambda r: r["opening_hours"].update(caturday=[]), "not a weekday"),
    ("opening_hours.friday", lambda r: r["opening_hours"].update(friday="all day"), "must be a list"),
    ("holidays[0].date", lambda r: r["holidays"][0].update(date="christmas"), "not a date"),
    ("contact.email", lambda r: r["contact"].update(email="not-an-email"), "not an email"),
    ("contact.phone", lambda r: r["contact"].pop("phone"), "is required"),
    ("shipping.options[0].price", lambda r: r["shipping"]["options"][0].update(price=-1), "number ≥ 0"),
    ("shipping.options[1].days", lambda r: r["shipping"]["options"][1].update(days=[5, 2]), "working days"),
    ("shipping.options", lambda r: r["shipping"].update(options=[]), "at least one"),
    ("returns.window_days", lambda r: r["returns"].update(window_days="thirty"), "whole number"),
    ("cancellation.fee", lambda r: r["cancellation"].update(fee="free"), "must be a number"),
    ("payment_methods", lambda r: r.update(payment_methods=[]), "at least one"),
    ("order_number.prefix", lambda r: r["order_number"].update(prefix="K C"), "letters"),
    ("order_number.example", lambda r: r["order_number"].update(example="AB-1"), "does not match"),
    ("currency", lambda r: r.update(currency="pounds"), "currency code"),
    ("owner.email", lambda r: r["owner"].update(email="owner"), "not an email"),
    ("location.map_url", lambda r: r["location"].update(map_url="javascript:alert(1)"), "https://"),
    ("widget.accent_colour", lambda r: r["widget"].update(accent_colour="green"), "colour"),
    ("widget.accent_colour", lambda r: r["widget"].update(accent_colour="#f4c542"), "1.6:1 with white"),
    ("widget.avatar", lambda r: r["widget"].update(avatar="branding/missing.png"), "does not exist"),
    ("widget.avatar", lambda r: r["widget"].update(avatar="shop.yml"), "must be an image"),
    ("widget.privacy_url", lambda r: r["widget"].update(privacy_url="privacy.html"), "https://"),
    ("catalog[1]", lambda r: r["catalog"].__setitem__(1, ""), "non-empty"),
]


@pytest.mark.parametrize("field,change,problem", BAD_FIELDS, ids=[f"{b[0]}-{b[2]}" for b in BAD_FIELDS])
def test_each_bad_field_is_named(field, change, problem):
    with pytest.raises(ShopProfileError) as error:
        parse_shop_profile(variant(change))
    assert error.value.field == field
    assert problem in str(error.value)
    assert str(error.value).startswith(f"shop.yml: {field}:")


def test_broken_yaml_names_the_line():
    with pytest.raises(ShopProfileError, match=r"not valid YAML at line 2"):
        parse_shop_profile("name: Shop\n  greeting: [unclosed\n")


def test_not_a_mapping():
    with pytest.raises(ShopProfileError, match="mapping"):
        parse_shop_profile("- just\n- a list\n")


def test_closed_day_and_24h_end_are_accepted():
    text = variant(lambda r: r["opening_hours"].update(sunday=[], saturday=["18:00-24:00"]))
    shop = parse_shop_profile(text)
    assert shop.opening_hours["sunday"] == ()
    assert shop.opening_hours["saturday"][0].overnight


def test_widget_look_from_shop_yml(shop):
    assert shop.widget.accent_colour == "#2f6f4e"
    assert shop.widget.avatar == ROOT / "branding" / "avatar.svg"
    assert shop.widget.avatar_type == "image/svg+xml"
    assert shop.widget.live_reply_time == "in about 10 minutes"


def test_widget_section_is_optional():
    shop = parse_shop_profile(variant(lambda r: r.pop("widget")), ROOT)
    assert shop.widget.accent_colour == "#2f6f4e" and shop.widget.avatar is None
    assert shop.widget.privacy_url == "" and shop.widget.live_reply_time == "in a few minutes"


def test_avatar_over_the_size_limit_is_refused(tmp_path):
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + bytes(200 * 1024))
    with pytest.raises(ShopProfileError, match="widget.avatar: 'big.png' is larger than 100 KB"):
        parse_shop_profile(variant(lambda r: r["widget"].update(avatar="big.png")), tmp_path)


@pytest.mark.parametrize("colour,ratio", [("#ffffff", 1.0), ("#000000", 21.0), ("#767676", 4.54),
                                          ("#595959", 7.0)])
def test_contrast_ratio_matches_wcag(colour, ratio):
    assert contrast_ratio(colour, "#ffffff") == pytest.approx(ratio, abs=0.01)
