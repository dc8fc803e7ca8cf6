"""Unpaired domains (data/unpaired.py): domains:A,B, digits2mnist, independent orders, jitter."""

import dataclasses

import numpy as np
import pytest
from PIL import Image

from tfgan_app import config as cfg
from tfgan_app import data
from tfgan_app.data import prepare, records, splits, unpaired
from tfgan_app.data.images import DataError


def config(spec, **overrides):
    base = cfg.preset("cyclegan-digits2mnist", dataset=spec, batch_size=4, jitter=1.0)
    return dataclasses.replace(base, **overrides)


def write_folder(folder, values, size=8):
    folder.mkdir(parents=True)
    for i, v in enumerate(values):
        Image.fromarray(np.full((size, size), v, np.uint8)).save(folder / f"{i}.png")


def test_two_folders_are_two_domains_drawn_independently(tmp_path):
    write_folder(tmp_path / "A", range(0, 50, 10))   # A: flat images 0, 10, ..., 40
    write_folder(tmp_path / "B", range(200, 250, 10))  # B: the same levels + 200, as many
    stream = data.open_data(config(f"domains:{tmp_path / 'A'},{tmp_path / 'B'}", image_size=8))
    assert stream.shape == {"a": (8, 8, 1), "b": (8, 8, 1)}
    batches = list(stream.batches(0).take(3))
    levels = lambda x: [int(round((v + 1) * 127.5)) for v in x[:, 0, 0, 0]]  # noqa: E731
    for a, b in batches:
        assert set(levels(a.numpy())) <= set(range(0, 50, 10)) and set(levels(b.numpy())) <= set(range(200, 250, 10))
    # Their own orders: A's sequence of levels is not B's shifted by 200.
    seq_a = sum((levels(a.numpy()) for a, _ in batches), [])
    seq_b = sum((levels(b.numpy()) for _, b in batches), [])
    assert [v + 200 for v in seq_a] != seq_b
    # Resumed at batch 2: the same batch as the uninterrupted stream's third.
    a2, b2 = next(iter(stream.batches(2)))
    np.testing.assert_array_equal(a2.numpy(), batches[2][0].numpy())
    np.testing.assert_array_equal(b2.numpy(), batches[2][1].numpy())


def test_a_domain_that_is_missing_or_empty_is_named(tmp_path):
    write_folder(tmp_path / "A", [1, 2])
    (tmp_path / "B").mkdir()
    with pytest.raises(DataError, match=r"domain .*B.*no images"):
        data.open_data(config(f"domains:{tmp_path / 'A'},{tmp_path / 'B'}", image_size=8))
    with pytest.raises(DataError, match=r"domain 'nowhere' is neither a directory nor an image spec"):
        data.open_data(config(f"domains:{tmp_path / 'A'},nowhere", image_size=8))
    with pytest.raises(DataError, match="name two domains"):
        data.open_data(config(f"domains:{tmp_path / 'A'}", image_size=8))


def test_tfds_cycle_gan_names_its_two_splits():
    with pytest.raises(DataError, match=r"cycle_gan/horse2zebra:trainA"):  # not prepared here: named in the error
        unpaired.load_domains("domains:tfds:cycle_gan/horse2zebra", image_size=32, data_dir="/nonexistent")


def test_sklearn_digits_in_mnists_framing_and_the_held_out_third():
    x, y = unpaired.sklearn_digits("all")
    assert x.shape == (1797, 28, 28, 1) and x.dtype == np.uint8
    assert x[:, :4].max() == 0 and x[:, -4:].max() == 0 and x[:, :, :4].max() == 0  # the 4-pixel frame
    assert x.max() == 255  # 16 -> 255
    train, held = unpaired.sklearn_digits("train"), unpaired.sklearn_digits("held_out")
    assert len(train[0]) == 1797 - unpaired.DIGITS_HELD_OUT and len(held[0]) == unpaired.DIGITS_HELD_OUT
    _, held_idx = splits.split_examples(1797, unpaired.DIGITS_HELD_OUT)
    np.testing.assert_array_equal(held[1], y[held_idx])


def test_digits2mnist_pairs_sklearn_digits_with_mnists_training_part(tmp_path):
    n = splits.HELD_OUT + 10
    x = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "m.npz", x=x, y=np.arange(n) % 10)
    a, b, _ = unpaired.load_domains(f"digits2mnist:npz:{tmp_path / 'm.npz'}")
    assert a.shape == (1797 - unpaired.DIGITS_HELD_OUT, 28, 28, 1)
    np.testing.assert_array_equal(b[..., 0], x[splits.split_examples(n)[0]])


def test_prepared_domains_are_two_image_datasets_streamed_each_in_its_own_order(tmp_path):
    write_folder(tmp_path / "A", range(0, 50, 10))
    write_folder(tmp_path / "B", range(200, 250, 10))
    written = prepare.prepare(f"domains:{tmp_path / 'A'},{tmp_path / 'B'}", tmp_path / "rec", shards=2,
                              image_size=8)
    assert {part: d.num_examples for part, d in written.items()} == {"a": 5, "b": 5}
    assert records.kind_of(tmp_path / "rec") == "domains"
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["a", "b", "dataset.json"]
    stream = data.open_data(config(f"tfrecords:{tmp_path / 'rec'}"))
    assert stream.shape == {"a": (8, 8, 1), "b": (8, 8, 1)}
    batches = list(stream.batches(0).take(3))
    levels = lambda x: [int(round((v + 1) * 127.5)) for v in x[:, 0, 0, 0]]  # noqa: E731
    seq_a = sum((levels(a.numpy()) for a, _ in batches), [])
    seq_b = sum((levels(b.numpy()) for _, b in batches), [])
    for epoch in range(2):  # every image of each domain once an epoch
        assert sorted(seq_a[5 * epoch:5 * epoch + 5]) == list(range(0, 50, 10))
        assert sorted(seq_b[5 * epoch:5 * epoch + 5]) == list(range(200, 250, 10))
    assert [v + 200 for v in seq_a] != seq_b  # their own orders
    a2, b2 = next(iter(stream.batches(2)))  # resumed at batch 2
    np.testing.assert_array_equal(a2.numpy(), batches[2][0].numpy())
    np.testing.assert_array_equal(b2.numpy(), batches[2][1].numpy())
    # Jittered, each domain by its own draws of (seed, batch index): a resumed run sees the same crops.
    jittered = data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", jitter=1.5, mirror=True))
    first = list(jittered.batches(0).take(3))
    a2, b2 = next(iter(jittered.batches(2)))
    np.testing.assert_array_equal(a2.numpy(), first[2][0].numpy())
    np.testing.assert_array_equal(b2.numpy(), first[2][1].numpy())


def test_prepared_domains_are_refused_where_images_are_expected_and_verified_part_by_part(tmp_path, capsys):
    write_folder(tmp_path / "A", range(0, 40, 10))
    write_folder(tmp_path / "B", range(200, 240, 10))
    prepare.prepare(f"domains:{tmp_path / 'A'},{tmp_path / 'B'}", tmp_path / "rec", shards=2, image_size=8)
    with pytest.raises(DataError, match=r"holds two domains, in .*rec/a and .*rec/b"):
        records.describe(tmp_path / "rec")
    assert prepare.main(["--verify", str(tmp_path / "rec")]) == 0
    out = capsys.readouterr().out
    assert out.count("4 examples in 2 shards, every sha256 as dataset.json says") == 2
    with pytest.raises(DataError, match=r"--image-size 16: the records in .*rec/a hold 8x8 images"):
        data.open_data(config(f"tfrecords:{tmp_path / 'rec'}", image_size=16))


def test_prepare_streams_each_domain_in_its_write_order_without_loading_it_whole(tmp_path, monkeypatch):
    write_folder(tmp_path / "A", range(0, 70, 10))
    write_folder(tmp_path / "B", range(200, 240, 10), size=12)  # resized to 8
    spec = f"domains:{tmp_path / 'A'},{tmp_path / 'B'}"
    a, b, _ = unpaired.load_domains(spec, image_size=8)
    monkeypatch.setattr(unpaired, "load_domains", lambda *args, **kwargs: pytest.fail("read a domain whole"))
    written = prepare.prepare(spec, tmp_path / "rec", shards=1, image_size=8, seed=5)
    for k, (part, x) in enumerate((("a", a), ("b", b))):
        images, labels = records.read_all(written[part])  # one shard: the write order
        np.testing.assert_array_equal(images, x[prepare.write_order(len(x), 5, prepare.DOMAIN_ORDER_SALT + k)])
        assert (labels == -1).all()


def test_a_domain_read_in_its_own_order_is_permuted_in_memory(tmp_path):
    from tfgan_app.data import images

    write_folder(tmp_path / "A", range(0, 90, 10))
    write_folder(tmp_path / "B", range(200, 240, 10))
    prepare.prepare(f"folder:{tmp_path / 'A'}", tmp_path / "a_rec", shards=1, image_size=8)  # tfrecords: keeps its order
    examples, _ = images.load_examples(f"tfrecords:{tmp_path / 'a_rec'}")
    a = np.stack([x.numpy() for x, _ in examples])
    written = prepare.prepare(f"domains:tfrecords:{tmp_path / 'a_rec'},{tmp_path / 'B'}", tmp_path / "rec", shards=1,
                              image_size=8, seed=6)
    got, labels = records.read_all(written["a"])
    np.testing.assert_array_equal(got, a[prepare.write_order(len(a), 6, prepare.DOMAIN_ORDER_SALT)])
    assert (labels == -1).all()
