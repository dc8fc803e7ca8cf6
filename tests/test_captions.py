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


# --- prepared captions (data/prepare.py, tfrecords:DIR of kind "captions") ----------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """captions2digits:npz:FILE of 2,040 bar 'digits' (2,000 held out, as splits.HELD_OUT: 40 to
    train on), prepared in 3 shards; the measurements cached in the module's own cache."""
    from test_text_encoder import bars

    from tfgan_app.data import prepare

    root = tmp_path_factory.mktemp("digits")
    x, y = bars(2040)
    np.savez(root / "bars.npz", x=x, y=y)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFGAN_APP_CACHE", str(root / "cache"))
        spec = f"captions2digits:npz:{root / 'bars.npz'}"
        description = prepare.prepare(spec, root / "rec", shards=3, seed=1)
        yield dict(spec=spec, digits=f"npz:{root / 'bars.npz'}", rec=root / "rec", description=description)


def test_prepared_captions_hold_the_training_digits_their_phrasings_and_the_held_out_digits(digits):
    from tfgan_app.data import images, records

    d = digits["description"]
    assert (d.kind, d.num_examples, d.num_classes, d.meta) == ("captions", 40, 10, {"captions": "captions2digits"})
    assert d.features["captions"] == {"dtype": "string", "shape": [len(captions.TRAIN_TEMPLATES)]}
    train = captions.captioned_digits(digits["digits"], "train")
    held = captions.captioned_digits(digits["digits"], "held_out")
    scheme, x, table, classes, labels, held_out = captions.prepared_caption_sets(f"tfrecords:{digits['rec']}")
    # Read back in the source's order: what the text encoder reads of the source, exactly.
    assert scheme == "captions2digits"
    np.testing.assert_array_equal(x, train.images)
    assert table.tolist() == train.captions().tolist()
    np.testing.assert_array_equal(classes, train.classes())
    np.testing.assert_array_equal(labels, train.labels)
    np.testing.assert_array_equal(held_out[0], held.images)
    assert held_out[1].tolist() == held.captions(tuple(range(len(captions.TEMPLATES)))).tolist()
    np.testing.assert_array_equal(held_out[2], held.classes())
    np.testing.assert_array_equal(held_out[3], held.labels)
    # Written in a permutation of --seed, not in the source's order.
    _, _, _, _, index = records.read_all(d)
    assert sorted(index.tolist()) == list(range(40)) and index.tolist() != list(range(40))
    # evaluate.py's reference images: every digit of the source, as for captions2digits:SPEC.
    ds, source = images.load_examples(f"tfrecords:{digits['rec']}")
    got = next(iter(ds.batch(5000)))[0].numpy()
    assert source.num_examples == 2040 and sorted(a.tobytes() for a in got) == sorted(
        a.tobytes() for a in np.concatenate([train.images, held.images]))
    assert [v.directory.name for v in records.verify_dataset(digits["rec"])] == ["rec", "held_out"]
    # The text encoder's sets (training digits, scored held-out digits in both kinds of phrasing).
    from tfgan_app.nets import text_encoder

    vocabulary, training, scored = text_encoder._caption_sets(f"tfrecords:{digits['rec']}", None, None)
    want_vocabulary, want_training, want_scored = text_encoder._caption_sets(digits["digits"], None, None)
    assert vocabulary == want_vocabulary and set(scored) == set(want_scored)
    for got_set, want_set in [(training, want_training)] + [(scored[k], want_scored[k]) for k in scored]:
        for a, b in zip(got_set, want_set):
            np.testing.assert_array_equal(np.asarray(a).astype(str) if a.dtype == object else a,
                                          np.asarray(b).astype(str) if b.dtype == object else b)


def test_prepared_captions_stream_every_digit_once_an_epoch_with_one_of_its_phrasings_and_resume(digits):
    from tfgan_app import config as cfg

    config = cfg.preset("stackgan-captions2digits", dataset=f"tfrecords:{digits['rec']}", batch_size=8,
                        shuffle_buffer=16, seed=3)
    stream = captions.open_captions(config)
    assert stream.shape == (28, 28, 1) and stream.num_examples == 40
    train = captions.captioned_digits(digits["digits"], "train")
    phrasings = {}
    for image, row in zip(train.images, train.captions()):
        phrasings.setdefault(image.tobytes(), set()).update(row)
    batches = list(stream.batches(0).take(10))  # two epochs of 40
    for epoch in (batches[:5], batches[5:]):
        seen = [((x.numpy() + 1) * 127.5).round().astype(np.uint8) for x, _ in epoch]
        assert sorted(a.tobytes() for a in np.concatenate(seen)) == sorted(a.tobytes() for a in train.images)
    shown = [(x.tobytes(), t.decode()) for b, c in batches
             for x, t in zip(((b.numpy() + 1) * 127.5).round().astype(np.uint8), c.numpy())]
    assert all(text in phrasings[key] for key, text in shown)
    assert len({text for _, text in shown}) > 40  # the phrasing is drawn, not always the first
    for k in (3, 7):  # a run resumed at batch k sees what an uninterrupted one saw
        x, t = next(iter(stream.batches(k)))
        np.testing.assert_array_equal(x.numpy(), batches[k][0].numpy())
        assert t.numpy().tolist() == batches[k][1].numpy().tolist()


def test_prepared_caption_files_keep_the_file_order_for_the_text_encoder_and_refusals(tmp_path, digits):
    from PIL import Image

    from tfgan_app import config as cfg
    from tfgan_app.data import DataError, open_data, prepare

    rng = np.random.default_rng(0)
    lines = []
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png\ta {'red' if i % 2 else 'blue'} bird, number {i % 3}")
    (tmp_path / "c.tsv").write_text("\n".join(lines) + "\n")
    spec = f"captions:{tmp_path / 'c.tsv'}"
    d = prepare.prepare(spec, tmp_path / "rec", shards=2)
    assert (d.kind, d.num_examples, d.meta) == ("captions", 12, {"captions": "captions"})
    assert not (tmp_path / "rec" / "held_out").exists()
    x, table = captions.load_captioned(spec)
    scheme, got_x, got_table, classes, labels, held = captions.prepared_caption_sets(f"tfrecords:{tmp_path / 'rec'}")
    assert (scheme, labels, held) == ("captions", None, None)
    np.testing.assert_array_equal(got_x, x)
    assert got_table.tolist() == table.tolist()
    np.testing.assert_array_equal(classes, np.unique(table[:, 0].astype(str), return_inverse=True)[1])

    with pytest.raises(DataError, match="^--image-size/--channels: SOURCE captions2digits:.* keeps the digits"):
        prepare.prepare(digits["spec"], tmp_path / "r2", image_size=14)
    with pytest.raises(DataError, match="^SOURCE captions2digits:npz:.*missing.npz"):
        prepare.prepare("captions2digits:npz:" + str(tmp_path / "missing.npz"), tmp_path / "r3")
    with pytest.raises(DataError, match="holds captions; only prepared images can be prepared again"):
        prepare.prepare(f"tfrecords:{digits['rec']}", tmp_path / "r4")
    base = dict(dataset=f"tfrecords:{digits['rec']}", batch_size=4)
    with pytest.raises(DataError, match="holds the held-out digits of a prepared dataset"):
        captions.open_captions(cfg.preset("stackgan-captions2digits", **dict(base, dataset=base["dataset"]
                                                                               + "/held_out")))
    with pytest.raises(DataError, match="^--image-size/--channels: .* holds captions2digits' 28x28x1 digits, kept"):
        open_data(cfg.preset("stackgan-captions2digits", image_size=14, **base))
    with pytest.raises(DataError, match="^--image-size 8: the records in .* hold 16x16 images; use --image-size 16"):
        open_data(cfg.preset("stackgan-captions2digits", image_size=8, **dict(base, dataset=f"tfrecords:{tmp_path / 'rec'}")))
    with pytest.raises(DataError, match="holds captioned images; train it with --game stackgan"):
        open_data(cfg.preset("dcgan-mnist", **base))
    with pytest.raises(DataError, match="the tf.data service reads prepared images; .* holds captions"):
        open_data(cfg.preset("stackgan-captions2digits", data_service="grpc://127.0.0.1:1", **base))


def test_prepare_streams_a_caption_file_in_the_write_order_without_loading_it_whole(tmp_path, monkeypatch):
    from PIL import Image

    from tfgan_app.data import prepare, records

    rng = np.random.default_rng(1)
    lines = []
    for i in range(9):  # RGB images of two sizes: all cropped and resized to the smaller side, 10
        side = 10 if i % 3 else 14
        Image.fromarray(rng.integers(0, 256, (side, side + 2 * (i % 2), 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png\tcaption {i % 4}")
    (tmp_path / "c.tsv").write_text("\n".join(lines) + "\n")
    spec = f"captions:{tmp_path / 'c.tsv'}"
    x, table = captions.load_captioned(spec)
    assert x.shape == (9, 10, 10, 3)
    monkeypatch.setattr(captions, "load_captioned", lambda *a, **k: pytest.fail("prepare read the images whole"))
    d = prepare.prepare(spec, tmp_path / "rec", shards=1, seed=4)
    got_x, got_captions, classes, labels, index = records.read_all(d)  # one shard: the write order
    order = prepare.write_order(9, 4, prepare.CAPTION_ORDER_SALT)
    np.testing.assert_array_equal(index, order)
    np.testing.assert_array_equal(got_x, x[order])
    assert [c[0].decode() for c in got_captions] == [f"caption {i % 4}" for i in order]
    np.testing.assert_array_equal(classes, np.array([i % 4 for i in order]))  # distinct captions, sorted
    assert (labels == -1).all()
