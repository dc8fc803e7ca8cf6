"""Paired image data (data/paired.py): pairs:DIR, pairs:DIR_A,DIR_B, edges2digits:SPEC, the jitter."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_app import config as cfg
from tfgan_app import data
from tfgan_app.data import paired, prepare, records, splits
from tfgan_app.data.images import DataError


def config(spec, **overrides):
    base = cfg.preset("pix2pix-edges2digits", dataset=spec, batch_size=4, jitter=1.0, mirror=False)
    return dataclasses.replace(base, **overrides)


def write_side_by_side(folder, n=5, size=8, seed=0):
    """n A|B files whose B is 255 - A, so a pair can be recognised after any shuffle or crop."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        Image.fromarray(np.concatenate([a[i], 255 - a[i]], 1)).save(folder / f"{i:03d}.png")
    return a


def test_side_by_side_pairs_keep_each_input_with_its_target(tmp_path):
    a = write_side_by_side(tmp_path / "ab")
    x, y = next(iter(data.open_data(config(f"pairs:{tmp_path / 'ab'}")).batches(0)))
    assert x.shape == y.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(y.numpy(), -x.numpy(), atol=1e-6)  # (255 - v) / 127.5 - 1 = -(v / 127.5 - 1)
    # Every input is one of the files' left halves, exactly.
    left = a.astype(np.float32) / 127.5 - 1
    assert all(any(np.array_equal(xi, l) for l in left) for xi in x.numpy())


def test_btoa_swaps_input_and_target(tmp_path):
    a = write_side_by_side(tmp_path / "ab", n=4)
    x, y = next(iter(data.open_data(config(f"pairs:{tmp_path / 'ab'}", direction="BtoA")).batches(0)))
    right = (255 - a).astype(np.float32) / 127.5 - 1
    assert all(any(np.array_equal(xi, r) for r in right) for xi in x.numpy())


def test_an_image_that_is_not_two_halves_is_named(tmp_path):
    write_side_by_side(tmp_path / "ab", n=2)
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(tmp_path / "ab" / "odd.png")
    with pytest.raises(DataError, match=r"odd\.png is 10x8 pixels; .* width must be twice its height"):
        data.open_data(config(f"pairs:{tmp_path / 'ab'}"))


def test_two_folders_pair_by_file_name_and_name_a_missing_one(tmp_path):
    a = np.random.default_rng(1).integers(0, 256, (3, 6, 6), dtype=np.uint8)
    for side, images in (("A", a), ("B", 255 - a)):
        (tmp_path / side).mkdir()
        for i, image in enumerate(images):
            Image.fromarray(image).save(tmp_path / side / f"{i}.png")
    spec = f"pairs:{tmp_path / 'A'},{tmp_path / 'B'}"
    x, y = next(iter(data.open_data(config(spec, batch_size=3)).batches(0)))
    assert x.shape == (3, 6, 6, 1)  # greyscale files: one channel
    np.testing.assert_allclose(y.numpy(), -x.numpy(), atol=1e-6)
    (tmp_path / "B" / "2.png").rename(tmp_path / "B" / "2b.png")
    with pytest.raises(DataError, match=r"same file names; 2\.png is in .*A but not in .*B"):
        data.open_data(config(spec))


def test_an_empty_folder_and_a_missing_one_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no images"):
        data.open_data(config(f"pairs:{tmp_path / 'empty'}"))
    with pytest.raises(DataError, match="is not a directory"):
        data.open_data(config(f"pairs:{tmp_path / 'nope'}"))


def test_jitter_crops_and_mirrors_both_images_alike_and_is_a_function_of_the_batch_index(tmp_path):
    write_side_by_side(tmp_path / "ab", n=8, size=16)
    stream = data.open_data(config(f"pairs:{tmp_path / 'ab'}", jitter=1.25, mirror=True, batch_size=8))
    plain = data.open_data(config(f"pairs:{tmp_path / 'ab'}", batch_size=8))
    first = [b for b in stream.batches(0).take(3)]
    for x, y in first:
        np.testing.assert_allclose(y.numpy(), -x.numpy(), atol=1e-6)  # the same crop and flip for both
    # Resumed at batch 2: the same crops as batch 2 of the uninterrupted stream.
    x2, _ = next(iter(stream.batches(2)))
    np.testing.assert_array_equal(x2.numpy(), first[2][0].numpy())
    # The jitter changes the images (same data order: only the crops differ).
    x0, _ = next(iter(plain.batches(0)))
    assert not np.array_equal(x0.numpy(), first[0][0].numpy())


def test_jitter_of_a_known_image():
    # A 4x4 ramp, factor 1.5 -> 6x6 by nearest neighbour, then a 4x4 crop: every row of the
    # result is one of the three 4-wide windows of the upsampled ramp's row.
    ramp = tf.constant(np.tile(np.arange(4, dtype=np.float32), (4, 1))[None, ..., None])  # (1, 4, 4, 1)
    big = tf.image.resize(ramp, (6, 6), method="nearest")[0, 0, :, 0].numpy()
    windows = {tuple(big[i:i + 4]) for i in range(3)}
    for seed in range(8):
        out = paired.jitter(ramp, tf.constant([seed, 0], tf.int64), 1.5, mirror=False)
        assert tuple(out[0, 0, :, 0].numpy()) in windows


def test_edge_maps_mark_the_two_sides_of_a_step():
    # A vertical step 0 -> 255 between columns 2 and 3: the Sobel x response is 4 (> 2) in
    # columns 2 and 3, and 0 elsewhere (tf.image.sobel_edges pads by reflection).
    digit = np.zeros((1, 6, 6, 1), np.uint8)
    digit[:, :, 3:] = 255
    edges = paired.edge_maps(digit)[0, :, :, 0]
    expected = np.zeros((6, 6), np.uint8)
    expected[:, 2:4] = 255
    np.testing.assert_array_equal(edges, expected)
    assert paired.edge_maps(np.full((1, 5, 5, 1), 200, np.uint8)).max() == 0  # a flat image has no edges


def test_edges2digits_trains_on_what_the_classifier_trains_on_and_keeps_its_held_out_part(tmp_path):
    n = splits.HELD_OUT + 30
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(n) % 10)
    train_idx, held_idx = splits.split_examples(n)
    edges, digits, labels = paired.edges2digits(f"npz:{tmp_path / 'd.npz'}", "held_out")
    np.testing.assert_array_equal(digits[..., 0], x[held_idx])
    np.testing.assert_array_equal(labels, held_idx % 10)
    np.testing.assert_array_equal(edges, paired.edge_maps(x[held_idx][..., None]))
    stream = data.open_data(config(f"edges2digits:npz:{tmp_path / 'd.npz'}", batch_size=30))
    _, y = next(iter(stream.batches(0)))
    train = x[train_idx].astype(np.float32) / 127.5 - 1
    assert sorted(map(bytes, y.numpy()[..., 0].astype(np.float32))) == sorted(map(bytes, train))
    assert stream.shape == {"inputs": (8, 8, 1), "targets": (8, 8, 1)}


def test_edges2digits_needs_more_images_than_it_holds_out(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((100, 8, 8), np.uint8), y=np.arange(100) % 10)
    with pytest.raises(DataError, match="holds out 2000 for scoring"):
        data.open_data(config(f"edges2digits:npz:{tmp_path / 'd.npz'}"))


def test_an_unknown_scheme_lists_the_paired_forms_too():
    with pytest.raises(DataError, match="pairs:DIR"):
        data.open_data(config("pears:x"))


def test_prepared_pairs_stream_each_input_with_its_target_every_pair_once_an_epoch(tmp_path):
    a = write_side_by_side(tmp_path / "ab", n=10)
    description = prepare.prepare(f"pairs:{tmp_path / 'ab'}", tmp_path / "rec", shards=3, seed=1)
    assert description.kind == "pairs" and description.num_examples == 10
    assert description.features == {"inputs": {"dtype": "uint8", "shape": [8, 8, 3]},
                                     "targets": {"dtype": "uint8", "shape": [8, 8, 3]}}
    stream = data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", batch_size=5))
    assert stream.shape == {"inputs": (8, 8, 3), "targets": (8, 8, 3)}
    batches = list(stream.batches(0).take(4))  # two epochs of 10 pairs
    left = a.astype(np.float32) / 127.5 - 1
    for epoch in (batches[:2], batches[2:]):
        x = np.concatenate([b[0].numpy() for b in epoch])
        y = np.concatenate([b[1].numpy() for b in epoch])
        np.testing.assert_allclose(y, -x, atol=1e-6)  # each input with its own target
        found = sorted(int(np.argmax([np.array_equal(xi, l) for l in left])) for xi in x)
        assert found == list(range(10))  # every pair exactly once, as written
    x3, _ = next(iter(stream.batches(3)))  # resumed at batch 3: the uninterrupted stream's fourth
    np.testing.assert_array_equal(x3.numpy(), batches[3][0].numpy())
    # BtoA reads the same records the other way round.
    x, y = next(iter(data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", batch_size=5,
                                           direction="BtoA")).batches(0)))
    np.testing.assert_array_equal(x.numpy(), batches[0][1].numpy())
    np.testing.assert_array_equal(y.numpy(), batches[0][0].numpy())


def test_prepared_pairs_of_grey_inputs_and_colour_targets_keep_each_sides_channels(tmp_path):
    grey = np.random.default_rng(2).integers(0, 256, (4, 6, 6), dtype=np.uint8)
    for side, pictures in (("A", grey), ("B", np.stack([255 - grey] * 3, -1))):
        (tmp_path / side).mkdir()
        for i, picture in enumerate(pictures):
            Image.fromarray(picture).save(tmp_path / side / f"{i}.png")
    prepare.prepare(f"pairs:{tmp_path / 'A'},{tmp_path / 'B'}", tmp_path / "rec", shards=2)
    for direction, (cx, cy) in (("AtoB", (1, 3)), ("BtoA", (3, 1))):
        stream = data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", direction=direction, jitter=1.5,
                                       mirror=True))
        assert stream.shape == {"inputs": (6, 6, cx), "targets": (6, 6, cy)}
        x, y = next(iter(stream.batches(1)))
        assert x.shape == (4, 6, 6, cx) and y.shape == (4, 6, 6, cy)
        grey_side, colour_side = (x, y) if direction == "AtoB" else (y, x)
        for c in range(3):  # one crop and mirror for both sides, whatever their channels
            np.testing.assert_allclose(colour_side.numpy()[..., c], -grey_side.numpy()[..., 0], atol=1e-6)
    with pytest.raises(DataError, match=r"--channels 3: the records in .*rec hold 1-channel A \(input\) images; "
                                        r"the two sides differ \(1 and 3 channels\): leave --channels out"):
        data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", channels=3))


def test_prepared_pairs_are_jittered_as_the_in_memory_pairs_are(tmp_path):
    write_side_by_side(tmp_path / "ab", n=6, size=16)
    prepare.prepare(f"pairs:{tmp_path / 'ab'}", tmp_path / "rec", shards=2)
    jittered = config(f"tfrecords:{tmp_path / 'rec'}", jitter=1.25, mirror=True, batch_size=6)
    x, y = next(iter(data.open_data(jittered).batches(0)))
    np.testing.assert_allclose(y.numpy(), -x.numpy(), atol=1e-6)  # one crop and mirror for both sides
    # The draws are those the in-memory pairs take for batch 0: pix2pix's jitter of (seed, 0, salt).
    plain = data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", batch_size=6))
    x0, y0 = next(iter(plain.batches(0)))
    both = tf.concat([x0, y0], -1)
    words = tf.constant([jittered.seed, 0, paired.JITTER_SALT], tf.int64)  # (seed, batch index 0, salt)
    key = tf.random.experimental.stateless_fold_in(words[:2], words[2])
    want = paired.jitter(both, key, 1.25, True)
    np.testing.assert_array_equal(x.numpy(), want[..., :3].numpy())


def test_prepared_pairs_refuse_another_image_size(tmp_path):
    write_side_by_side(tmp_path / "ab", n=4)
    prepare.prepare(f"pairs:{tmp_path / 'ab'}", tmp_path / "rec", shards=2)
    with pytest.raises(DataError, match=r"--image-size 16: the records in .*rec hold 8x8 A \(input\) images"):
        data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", image_size=16))
    with pytest.raises(DataError, match=r"--channels 1: the records in .*rec hold 3-channel A \(input\) images"):
        data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", channels=1))


def test_prepare_streams_a_pairs_folder_in_the_write_order_without_loading_it_whole(tmp_path, monkeypatch):
    # Side by side at 10 px high, resized to 6 (the crop and resize of images.fit_image), and two folders
    # of RGB inputs and grey targets at their own size.
    write_side_by_side(tmp_path / "ab", n=7, size=10)
    rgb = np.random.default_rng(4).integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    for side, pictures in (("A", rgb), ("B", 255 - rgb[..., 0])):
        (tmp_path / side).mkdir()
        for i, picture in enumerate(pictures):
            Image.fromarray(picture).save(tmp_path / side / f"{i}.png")
    cases = [(f"pairs:{tmp_path / 'ab'}", 6), (f"pairs:{tmp_path / 'A'},{tmp_path / 'B'}", 0)]
    in_memory = [paired.load_pairs(spec, image_size=size or None) for spec, size in cases]
    np.testing.assert_array_equal(in_memory[1][0], rgb)  # as the files hold them
    np.testing.assert_array_equal(in_memory[1][1][..., 0], 255 - rgb[..., 0])

    def whole(*args, **kwargs):
        raise AssertionError("prepare read a pairs: folder whole")

    monkeypatch.setattr(paired, "load_pairs", whole)
    for k, ((spec, size), (a, b, _)) in enumerate(zip(cases, in_memory)):
        description = prepare.prepare(spec, tmp_path / f"rec{k}", shards=1, image_size=size, seed=3)
        inputs, targets = records.read_all(description)  # one shard: the write order
        order = prepare.write_order(len(a), 3, prepare.PAIR_ORDER_SALT)
        np.testing.assert_array_equal(inputs, a[order])
        np.testing.assert_array_equal(targets, b[order])
