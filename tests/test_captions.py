"""Captions (data/captions.py): the words by hand, thresholds, held-out phrasings, caption files."""

import numpy as np
import pytest

from tfgan_app.data import captions


def test_captions_by_hand():
    assert captions.caption(7, 2, 2, 0, 0) == "a thick seven leaning right"
    assert captions.caption(7, 0, 1, 1, 1) == "the digit 7, thin and upright"
    assert captions.caption(2, 0, 0, 0, 4) == "a left-leaning two in thin ink"  # a held-out phrasing
    with pytest.raises(captions.CaptionError, match="label 10"):
        captions.caption(10, 0, 0, 0, 0)


def test_thresholds_split_the_training_digits_into_thirds_and_halves():
    measured = {"thickness": np.arange(9.0), "slant": np.linspace(-0.4, 0.4, 9), "width": np.arange(10.0)}
    th = captions.Thresholds.fit(measured)
    cats = th.categories(measured)
    assert np.bincount(cats["thickness"]).tolist() == [3, 3, 3]
    assert np.bincount(cats["slant"]).tolist() == [3, 3, 3]
    assert np.bincount(cats["width"]).tolist() == [5, 5]
    table = captions.captions_for([3, 5], {k: v[:2] for k, v in cats.items()})
    assert table.shape == (2, len(captions.TRAIN_TEMPLATES))
    assert table[0, 0] == "a thin three leaning left"


def test_held_out_phrasings_are_not_training_phrasings_and_every_word_is_in_the_vocabulary():
    assert set(captions.HELD_OUT_TEMPLATES).isdisjoint(captions.TRAIN_TEMPLATES)
    words = captions.vocabulary()
    assert "left-leaning" in words and "ink" in words and "7" in words
    assert captions.normalise("The digit 7, THIN and upright!") == "the digit 7 thin and upright"


def test_caption_files(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"png")
    good = tmp_path / "captions.tsv"
    good.write_text("# image\tcaption\nimg/a.png\ta round zero\n\n")
    assert captions.read_caption_file(good) == [((tmp_path / "img" / "a.png").resolve(), "a round zero")]
    bad = tmp_path / "bad.tsv"
    bad.write_text("img/a.png\ta zero\nimg/missing.png\ta one\n")
    with pytest.raises(captions.CaptionError, match="line 2: image 'img/missing.png' not found"):
        captions.read_caption_file(bad)
    bad.write_text("img/a.png a zero without a tab\n")
    with pytest.raises(captions.CaptionError, match="line 1: expected 'image_path<TAB>caption'"):
        captions.read_caption_file(bad)
    with pytest.raises(captions.CaptionError, match="no such file"):
        captions.read_caption_file(tmp_path / "nope.tsv")
