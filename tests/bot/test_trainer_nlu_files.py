"""The trainer's examples reach data/nlu/*.yml as one inserted line each, the rest byte for byte."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.loading import load_data

from bot.trainer.nlu_files import ExampleRefused, NluFiles, insert_examples

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(str(ROOT / "domain.yml"))

COMMENTED = """version: "3.1"
# Shipping questions. Keep "when will my order arrive" (no problem) here.
nlu:
- intent: delivery_time   # how long, not where
  examples: |
    - how long does delivery take
    - when will it arrive

    - shipping time?
  # a comment between blocks
- intent: shipping_options
  examples: |
      - what delivery methods do you have
- intent: out_of_scope
  examples: |
    - what's the weather
"""


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "nlu"
    shutil.copytree(ROOT / "data" / "nlu", folder)
    return NluFiles(folder, DOMAIN.intents, DOMAIN.entities)


def test_the_line_goes_at_the_end_of_the_block_and_nothing_else_changes():
    after = insert_examples(COMMENTED, "delivery_time", ["how many days till my beans come"])
    assert after == COMMENTED.replace("    - shipping time?\n",
                                      "    - shipping time?\n    - how many days till my beans come\n")
    deeper = insert_examples(COMMENTED, "shipping_options", ["do you do express"])
    assert "      - what delivery methods do you have\n      - do you do express\n" in deeper
    last = insert_examples(COMMENTED.rstrip("\n"), "out_of_scope", ["tell me a joke"])
    assert last.endswith("    - what's the weather\n    - tell me a joke\n")


def test_windows_line_ends_are_kept():
    crlf = COMMENTED.replace("\n", "\r\n")
    after = insert_examples(crlf, "delivery_time", ["when do parcels come"])
    assert after == crlf.replace("    - shipping time?\r\n",
                                 "    - shipping time?\r\n    - when do parcels come\r\n")


def test_a_real_data_file_gains_exactly_the_new_lines(data):
    path = data.folder / "shipping.yml"
    before = path.read_bytes()
    added = data.add("delivery_time", ["  how many days till the kettle gets to Leeds  ",
                                       "eta for beans to Cork?"])
    assert added.path == path and added.examples == ["how many days till the kettle gets to Leeds",
                                                     "eta for beans to Cork?"]
    after = path.read_bytes()
    assert len(after) == len(before) + len(b"    - how many days till the kettle gets to Leeds\n"
                                           b"    - eta for beans to Cork?\n")
    new_lines = [line for line in after.splitlines() if line not in set(before.splitlines())]
    assert new_lines == [b"    - how many days till the kettle gets to Leeds",
                         b"    - eta for beans to Cork?"]
    examples = {(m.get("intent"), m.get("text")) for m in load_data(str(data.folder)).intent_examples}
    assert ("delivery_time", "eta for beans to Cork?") in examples


def test_entities_marked_in_an_example_are_kept(data):
    data.add("order_status", ["any news on [KC-20001](order_id) please"])
    messages = load_data(str(data.folder / "orders.yml")).intent_examples
    marked = [m for m in messages if m.get("text") == "any news on KC-20001 please"]
    assert marked and marked[0].get("entities")[0]["entity"] == "order_id"


@pytest.mark.parametrize("intent, example, reason", [
    ("delivery_time", "how long does delivery take", "already an example of delivery_time"),
    ("delivery_time", "  HOW LONG does   delivery take ", "already an example of delivery_time"),
    ("delivery_time", "what is your refund policy", "already an example of refund_policy (returns.yml)"),
    ("not_an_intent", "hello there", "not an intent of domain.yml"),
    ("order_status", "where is [KC-1](parcel_code)", "parcel_code, not an entity of domain.yml"),
    ("greet", "   ", "cannot be empty"),
    ("greet", "hi\n- intent: deny", "one line"),
    ("greet", "x" * 501, "at most 500"),
])
def test_what_validate_would_reject_never_reaches_disk(data, intent, example, reason):
    before = {path.name: path.read_bytes() for path in data.files()}
    with pytest.raises(ExampleRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        data.add(intent, [example])
    assert {path.name: path.read_bytes() for path in data.files()} == before


def test_one_bad_example_refuses_the_whole_decision(data):
    path = data.folder / "shipping.yml"
    before = path.read_bytes()
    with pytest.raises(ExampleRefused, match="given twice"):
        data.add("delivery_time", ["when do beans come to Oslo", "When do beans come to  Oslo"])
    assert path.read_bytes() == before
