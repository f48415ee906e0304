"""Issue 13: the web server logged every message and every slot (one test email on 4,256 lines, 24 MB for
~3,500 messages). Against the real servers, a conversation that types an email and phone numbers leaves
neither in either server's log, and a turn costs the log next to nothing at the default level."""
from __future__ import annotations

import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

TURNS = [  # (sender, text): an order checked by email, one by phone, contact details typed anywhere
    ("status", "where is my order KC-10003? my email is jo.baker@example.com"),
    ("status", "jo.baker@example.com"),
    ("phone", "where is my order KC-10002? my number is +44 7700 900102"),
    ("phone", "07700 900102"),
    ("typed", "hi, please email me at log.privacy.check@example.org or call 07700 900123"),
    ("typed", "my phone is 07700 900123"),
]
PERSONAL = ["jo.baker@example.com", "log.privacy.check@example.org", "7700 900102", "07700 900123",
            "900123", "900102"]


def test_contact_details_typed_by_customers_stay_out_of_both_logs(servers):
    before = {name: len(servers.log(name).encode()) for name in ("web", "actions")}
    run = uuid.uuid4().hex[:8]
    for sender, text in TURNS:
        reply = requests.post(f"{servers.base_url}/webhooks/rest/webhook", timeout=60,
                              json={"sender": f"log-privacy-{sender}-{run}", "message": text})
        assert reply.status_code == 200 and reply.json(), reply.text
    for name in ("web", "actions"):
        log = servers.log(name)
        assert [needle for needle in PERSONAL if needle in log] == [], name
        grown = len(log.encode()) - before[name]
        assert grown / len(TURNS) < 500, f"{name} log grew {grown} bytes for {len(TURNS)} messages"
