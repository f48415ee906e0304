"""The request inside a polite or helpless frame, and the vector the classifier reads for it."""
from __future__ import annotations

import numpy as np
import pytest

from bot.nlp.request_core import meaning_texts, request_core
from bot.nlp.sentence_classifier import embed, meaning_vectors


@pytest.mark.parametrize("text, core", [
    ("I need assistance to see the withdrawal charges", "the withdrawal charges"),
    ("can you help me to check your payment options", "your payment options"),
    ("i dont know how I can see the early termination penalties", "the early termination penalties"),
    ("I'd like information about the return window", "the return window"),
    ("hi, could you please tell me your opening hours", "your opening hours"),
    ("I want help to see when my parcel is going to arrive", "when my parcel is going to arrive"),
    ("can u help me with my order KC-10003", "my order KC-10003"),
    ("I am trying to log in", "log in"),
])
def test_the_frame_is_taken_off(text, core):
    assert request_core(text) == core


@pytest.mark.parametrize("text", [
    "can you help me",           # the frame is the request
    "I need help",
    "I want to complain",        # one word would be left
    "where can I find you",      # the opening carries the meaning
    "I have received a broken mug",
    "do you ship to Canada?",
    "",
])
def test_text_without_a_frame_or_with_too_little_left_stays_whole(text):
    assert request_core(text) == text


def test_a_framed_request_is_read_as_the_mean_of_the_whole_and_its_core():
    framed, plain = "I need assistance to see the withdrawal charges", "do you ship to Canada?"
    whole, core, alone = embed([framed, "the withdrawal charges", plain])
    vectors = meaning_vectors([framed, plain])
    expected = (whole + core) / np.linalg.norm(whole + core)
    assert np.allclose(vectors[0], expected, atol=1e-5)
    assert np.allclose(vectors[1], alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_numbers_are_stood_in_before_the_featurizer_vector_is_trusted():
    text = "is purchase 00004587345 shipped?"
    stale = embed([text])  # what the featurizer computed from the digits as typed
    assert np.allclose(meaning_vectors([text], stale)[0], embed(["is purchase #1234 shipped?"])[0], atol=1e-5)


def test_the_texts_a_meaning_is_read_from_are_embedded_with_the_message():
    assert meaning_texts("where is my order") == []
    assert meaning_texts("where is order KC-10003") == ["where is order #1234"]
    assert meaning_texts("can you help me to check your payment options") == ["your payment options"]
    assert meaning_texts("I want to know where order 10003 is") == ["I want to know where order #1234 is",
                                                                   "where order #1234 is"]
