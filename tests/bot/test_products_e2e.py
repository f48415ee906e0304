"""Product questions over REST on the real servers: answered from shop.yml's catalog, then from an imported
export (no restart, no retraining), and a product we don't sell named back with a person offered."""
from __future__ import annotations

from typing import Dict, List

import pytest
import requests

from actions.services.catalog.product_import import import_products_file
from actions.services.catalog.store import ProductStore
from tests.bot.servers import ROOT

pytestmark = pytest.mark.e2e


def say(servers, sender: str, text: str) -> List[Dict]:
    reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook",
                          json={"sender": sender, "message": text}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(messages: List[Dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def test_product_questions_are_answered_from_the_catalog(servers):
    answer = texts(say(servers, "e2e-products", "how much is the chemex?"))
    assert "Chemex: £45 (6 cup), £49 (8 cup)." in answer
    assert "https://kettleandcrumb.example/products/chemex" in answer

    answer = texts(say(servers, "e2e-products", "is the V60 in stock?"))
    assert "Hario V60: white ceramic: in stock; clear plastic: sold out." in answer

    messages = say(servers, "e2e-products", "got any oat milk?")
    assert 'we don\'t seem to carry "oat milk"' in texts(messages)
    assert {"title": "Talk to a person", "payload": "/human_handoff"} in messages[-1]["buttons"]


def test_an_import_changes_the_answers_at_once(servers):
    store = ProductStore(servers.engine)
    import_products_file(ROOT / "tests/fixtures/products/woocommerce_products.csv", store,
                         "https://kettleandcrumb.example")
    try:
        answer = texts(say(servers, "e2e-products-imported", "how much is earl grey tea"))
        assert "Earl Grey: £5.50." in answer      # the export's sale price, not shop.yml's £6.50
        answer = texts(say(servers, "e2e-products-imported", "do you sell the aeropress?"))
        assert 'we don\'t seem to carry "aeropress"' in answer  # not in the imported catalog
    finally:
        store.clear()  # the shared servers' other tests expect shop.yml's catalog
