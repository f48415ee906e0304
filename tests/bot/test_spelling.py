"""Slips read as the word meant, before the sentence classifier embeds a message (bot/nlp/spelling.py)."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.sentence_classifier import SentenceIntentClassifier, embed, meaning_vectors
from bot.nlp.spelling import Speller, english_words
from tests.bot.test_sentence_classifier import DIRECTIONS, message, noisy


@pytest.fixture(scope="module")
def speller():
    ours = ["where is my parcel", "hiya there", "hiya", "I want to return the Chemex"]
    return Speller.for_training_data(ours, names=["Chemex", "V60 filter papers"])


@pytest.mark.parametrize("typed, meant", [
    ("where is my pacrel", "where is my parcel"),              # two letters swapped
    ("I can't aford the subscription", "I can't afford the subscription"),  # one left out
    ("my paymment failed", "my payment failed"),               # one too many
    ("can I get a refnud?", "can I get a refund?"),            # swapped, before punctuation
    ("wehre is the shop", "where is the shop"),                # first word
    ("Cancle my order please", "cancel my order please"),      # a capital at the start is no name
])
def test_a_slip_is_read_as_the_word_meant(speller, typed, meant):
    assert speller.correct(typed) == meant


@pytest.mark.parametrize("typed", [
    "ur shop pls thx",                       # short words are how people write
    "mail me at jo.smith@example.org",       # an email is not a word
    "order KC-10482 or kc10482",             # nor an order number
    "I haven't got it and I havent paid",    # contractions, with or without the apostrophe
    "I cannot log in",
    "I walked round Quay Street twice",      # a capitalised word after the first is a name
    "is the chemex in stock",                # a product our data names
    "hiya",                                  # a word our data uses more than once
    "a rebate and a reimbursement",          # rare words are words
])
def test_what_is_not_a_slip_is_left_as_typed(speller, typed):
    assert speller.correct(typed) == typed


def test_among_candidates_a_word_of_our_own_data_wins():
    words = {"plan": -10.0, "play": -9.0, "place": -16.0}
    assert Speller(words, ours=["place"]).correction("plae") == "place"
    assert Speller(words).correction("plae") == "play"


@pytest.mark.parametrize("typed, common, rare", [
    ("plae", "place", "play"),      # a letter left out, not "e" hit for "y" across the keyboard
    ("wehre", "where", "were"),     # two letters swapped, not an "h" added out of the blue
    ("ordwr", "order", "ordor"),    # "w" is the key beside "e"; "o" is not
    ("caard", "card", "chard"),     # a letter typed twice
    ("hekp", "help", "heap"),       # "k" is the key beside "l"
])
def test_a_common_slip_beats_a_somewhat_more_frequent_word(typed, common, rare):
    assert Speller({common: -10.0, rare: -8.5}).correction(typed) == common
    assert Speller({common: -10.0, rare: -6.0}).correction(typed) == rare  # twenty times as frequent


def test_a_word_two_edits_from_any_word_is_left_alone(speller):
    assert speller.correction("xqzzv") is None


def test_english_words_hold_common_and_rare_words_not_slips():
    words = english_words()
    assert {"refund", "rebate", "modalities", "havent", "cannot"} <= words.keys()
    assert not {"accout", "chnage", "pamyent"} & words.keys()


def test_the_classifier_embeds_what_was_meant(speller):
    [typed] = meaning_vectors(["where is my pacrel"], spell=speller.correct)
    [meant] = embed(["where is my parcel"])
    assert np.allclose(typed, meant, atol=1e-5)


def test_the_speller_is_trained_stored_and_loaded_with_the_model(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("sentence_classifier")
    context = ExecutionContext(graph_schema=None, model_id="1")  # type: ignore[arg-type]
    config = {**SentenceIntentClassifier.get_default_config(), "min_similarity": 0.85}
    examples = [message(noisy(vector, seed), intent, text=f"{intent.replace('_', ' ')} Kalita")
                for intent, vector in DIRECTIONS.items() for seed in range(3)]
    SentenceIntentClassifier.create(config, storage, resource, context).train(
        TrainingData(training_examples=examples))
    loaded = SentenceIntentClassifier.load(config, storage, resource, context)
    assert loaded.model is not None and loaded.model.speller is not None
    assert loaded.model.spell("my ordr status") == "my order status"
    assert loaded.model.spell("kalita") == "kalita"  # a word of our examples, three times
    off = {**config, "correct_spelling": False}
    SentenceIntentClassifier.create(off, storage, resource, context).train(
        TrainingData(training_examples=examples))
    unspelt = SentenceIntentClassifier.load(off, storage, resource, context)
    assert unspelt.model is not None and unspelt.model.speller is None
    assert unspelt.model.spell("my ordr status") == "my ordr status"
