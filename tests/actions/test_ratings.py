"""Reading ratings from buttons and free text; NPS bands."""
from __future__ import annotations

import pytest

from actions.services.ratings import Rating, nps_band, read_rating, unasked_rating


@pytest.mark.parametrize("text,score", [
    ("4", 4), ("5", 5), ("1", 1), ("four stars", 4), ("Five!", 5), ("I'd give it a 3", 3), ("4/5", 4),
    ("4 out of 5", 4), ("4.5", 5), ("⭐⭐⭐⭐", 4), ("it was great", 5), ("excellent, thanks", 5),
    ("pretty good", 4), ("not bad", 4), ("meh", 3), ("ok I guess", 3), ("not great", 2), ("poor", 2),
    ("terrible", 1), ("useless bot", 1), ("loved it", 5),
])
def test_csat_from_buttons_and_words(text, score):
    assert read_rating(text, 1, 5) == Rating(score=score)


@pytest.mark.parametrize("text", ["no thanks", "No", "nope", "not now", "skip", "never mind", "rather not"])
def test_no_thanks_is_a_refusal_not_a_score(text):
    assert read_rating(text, 1, 5) == Rating(declined=True)
    assert read_rating(text, 0, 10).declined


def test_a_number_outside_the_scale_is_asked_again_not_an_error():
    assert read_rating("7", 1, 5) == Rating(outside=7)
    assert read_rating("0", 1, 5) == Rating(outside=0)
    assert read_rating("11", 0, 10) == Rating(outside=11)
    assert not read_rating("7", 1, 5).answered


def test_nps_takes_numbers_and_number_words_only():
    assert read_rating("10", 0, 10) == Rating(score=10)
    assert read_rating("zero", 0, 10) == Rating(score=0)
    assert read_rating("I'd say an 8", 0, 10) == Rating(score=8)
    assert not read_rating("it was great", 0, 10).understood  # "great" is no number of ten
    assert not read_rating("when do you open?", 1, 5).understood
    assert not read_rating("", 1, 5).understood


@pytest.mark.parametrize("score,band", [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"),
                                        (9, "promoter"), (10, "promoter")])
def test_nps_bands(score, band):
    assert nps_band(score) == band


def test_nps_band_refuses_a_score_off_the_scale():
    with pytest.raises(ValueError):
        nps_band(11)


@pytest.mark.parametrize("text,low,high,score", [
    ("i'd say 9 out of 10", 1, 5, 5), ("8/10", 1, 5, 4), ("2 out of 10", 1, 5, 1), ("10/10", 1, 5, 5),
    ("4 out of 5", 0, 10, 8), ("3/5", 0, 10, 6), ("9 out of 10", 0, 10, 9),
])
def test_a_score_on_another_scale_is_converted(text, low, high, score):
    assert read_rating(text, low, high) == Rating(score=score)


def test_a_fraction_that_is_no_score_is_not_converted():
    assert read_rating("12 out of 10", 1, 5) == Rating(outside=12)
    assert read_rating("prob a 6", 1, 5) == Rating(outside=6)


@pytest.mark.parametrize("text", ["ok bye", "Okay, bye!", "alright thanks, that's all", "ok gotta go",
                                  "fine, see you"])
def test_ok_on_the_way_out_is_no_rating(text):
    """Seen as a customer: "ok bye" to "How did I do today?" stored a 3 the customer never gave."""
    assert read_rating(text, 1, 5) == Rating(declined=True)


@pytest.mark.parametrize("text,score", [("ok", 3), ("it was fine", 3), ("great, bye", 5), ("4 bye", 4),
                                        ("terrible, goodbye", 1)])
def test_a_rating_given_on_the_way_out_still_counts(text, score):
    assert read_rating(text, 1, 5).score == score


@pytest.mark.parametrize("text,score", [
    ("five stars", 5), ("5 stars!", 5), ("Four Stars", 4), ("one star", 1), ("★★★", 3), ("⭐⭐⭐⭐⭐", 5),
    ("🌟🌟🌟🌟🌟", 5), ("★★★★☆", 4),
    ("4 out of 5", 4), ("9/10", 5), ("10/10 thanks Mara", 5), ("three stars, it was ok", 3),
])
def test_a_rating_typed_unasked(text, score):
    assert unasked_rating(text) == score


@pytest.mark.parametrize("text", [
    "5", "great", "KC-10002", "2 of them", "3 of 5 items came", "the stars mug", "ok",
    "six stars",  # off the scale: no rating to keep
    "two stars for the courier but five for you, the parcel was left in the rain and I had to dry it",
])
def test_what_is_no_rating_typed_unasked(text):
    assert unasked_rating(text) is None
