"""normalize_text: the one preprocessing step shared by training, inference and the cache."""

import pytest

from models.oeq_ceq.text import normalize_text


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Is it red?", "xxbos is it red xxq"),
        ("is it red", "xxbos is it red"),
        ("IS IT RED?", "xxbos is it red xxq"),
        ("What’s that?", "xxbos what is that xxq"),
        ("Why can't it float?", "xxbos why can not it float xxq"),
        ("um okay so what do you think", "xxbos what do you think"),
        ("So, uh, how many are there? 3?", "xxbos how many are there xxq xxbos xxnum xxq"),
        ("It's very heavy. Why was it heavy?", "xxbos it is very heavy xxbos why was it heavy xxq"),
        ("That's a circle, right?", "xxbos that is a circle xxc right xxq"),
        ("Do you think it will sink? Why?", "xxbos do you think it will sink xxq xxbos why xxq"),
        ("", ""),
        ("?!...", ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_openers_go_and_a_leading_name_stays_a_clause():
    once = normalize_text("Okay, Maya, tell me about your drawing.")
    assert once == "xxbos maya xxc tell me about your drawing"


def test_fillers_inside_a_sentence_are_dropped():
    assert normalize_text("what um do you uh see") == normalize_text("what do you see")
