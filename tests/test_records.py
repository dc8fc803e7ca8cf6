"""records.py and prepare.py: sharded TFRecords written, described, verified, read back, refused."""

import hashlib
import json

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.data import images, prepare, records
from tfgan_app.data.errors import DataError


def source(tmp_path, n=240, size=8, channels=1, classes=10):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    y = np.arange(n) % classes
    np.savez(tmp_path / "d.npz", x=x, y=y)
    return f"npz:{tmp_path / 'd.npz'}", x, y


def read_in_file_order(directory):
    ds, info = images.load_examples(f"tfrecords:{directory}")
    pairs = [(x.numpy(), int(y)) for x, y in ds]
    return np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs]), info


def test_prepare_writes_the_seeded_order_round_robin_and_a_description_that_matches(tmp_path):
    spec, x, y = source(tmp_path)
    description = prepare.prepare(spec, tmp_path / "rec", shards=4, seed=3)
    # Example k of the seed-3 permutation goes to shard k mod 4: shard s = order[s::4].
    order = np.random.default_rng(3).permutation(240)
    expected = np.concatenate([order[s::4] for s in range(4)])
    got_x, got_y, info = read_in_file_order(tmp_path / "rec")
    np.testing.assert_array_equal(got_x, x[expected])
    np.testing.assert_array_equal(got_y, y[expected])
    assert (info.num_examples, info.num_classes, info.image_shape) == (240, 10, (8, 8, 1))

    saved = json.loads((tmp_path / "rec" / "dataset.json").read_text())
    assert saved["format"] == "tfgan-tfrecords/1" and saved["num_examples"] == 240 and saved["num_classes"] == 10
    assert saved["features"] == {"image": {"dtype": "uint8", "shape": [8, 8, 1]}, "label": {"dtype": "int32", "shape": []}}
    assert saved["write_seed"] == 3 and saved["tensorflow"] == tf.__version__
    assert [s["num_examples"] for s in saved["shards"]] == [60] * 4
    for s in saved["shards"]:
        data = (tmp_path / "rec" / s["file"]).read_bytes()
        assert s["bytes"] == len(data) and s["sha256"] == hashlib.sha256(data).hexdigest()
        # Each record: 8 + 4 framing bytes, the Example, 4 CRC bytes; the Example carries 64 pixel
        # bytes and 4 label bytes plus its keys and lengths: the file is at least 60 x 84 bytes.
        assert len(data) >= 60 * (16 + 64 + 4)
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == sorted(
        ["dataset.json"] + [f"shard-{i:05d}-of-00004.tfrecord" for i in range(4)])  # no temporary left
    assert records.verify(tmp_path / "rec") == description


def test_uneven_shards_differ_by_at_most_one_and_labels_follow_their_images(tmp_path):
    spec, x, y = source(tmp_path, n=23, size=4, channels=3, classes=5)
    description = prepare.prepare(spec, tmp_path / "rec", shards=5, seed=0)
    assert [s.num_examples for s in description.shards] == [5, 5, 5, 4, 4]
    got_x, got_y, _ = read_in_file_order(tmp_path / "rec")
    by_image = {a.tobytes(): label for a, label in zip(x, y)}
    assert [by_image[a.tobytes()] for a in got_x] == got_y.tolist()
    assert sorted(a.tobytes() for a in got_x) == sorted(a.tobytes() for a in x)


def test_write_records_any_fixed_shape_feature_exactly(tmp_path):
    ids = np.arange(30, dtype=np.int32).reshape(10, 3) * 1000 - 7  # negative and multi-byte values
    values = np.linspace(-1, 1, 10, dtype=np.float32)
    ds = tf.data.Dataset.from_tensor_slices((ids, values))
    description = records.write(ds, tmp_path / "r", names=("ids", "value"), shards=2, source="test", num_classes=0)
    batch = next(iter(tf.data.TFRecordDataset(description.paths()).batch(10)))
    got_ids, got_values = records.parse(batch, description)
    np.testing.assert_array_equal(got_ids.numpy(), np.concatenate([ids[0::2], ids[1::2]]))
    np.testing.assert_array_equal(got_values.numpy(), np.concatenate([values[0::2], values[1::2]]))
    with pytest.raises(DataError, match="expected images"):
        images.load_examples(f"tfrecords:{tmp_path / 'r'}")


def test_string_features_round_trip_as_utf8_and_a_count_that_differs_is_named(tmp_path):
    words = np.array([["a thin two", "ünïcode ✓"], ["", "x" * 300]] * 3)  # (6, 2): empty, long, non-ASCII
    ds = tf.data.Dataset.from_tensor_slices((words, np.arange(6, dtype=np.int32)))
    description = records.write(ds, tmp_path / "r", names=("captions", "index"), shards=2, source="test",
                                num_classes=0)
    assert description.features["captions"] == {"dtype": "string", "shape": [2]}
    got, index = records.read_all(records.describe(tmp_path / "r"))
    assert index.tolist() == [0, 2, 4, 1, 3, 5]  # file order: shard 0, then shard 1
    assert [[v.decode() for v in row] for row in got] == words[index].tolist()
    path = tmp_path / "r" / "dataset.json"
    raw = json.loads(path.read_text())
    raw["features"]["captions"]["shape"] = [3]
    path.write_text(json.dumps(raw))
    with pytest.raises(DataError, match="feature 'captions' holds 2 strings; \\(3,\\) needs 3"):
        records.describe(tmp_path / "r")
    with pytest.raises(DataError, match="strings of rank 0 or 1"):
        records.write(tf.data.Dataset.from_tensor_slices(words[:, :, None]), tmp_path / "r2", names=("w",),
                      shards=1, source="test", num_classes=0)


def corrupt(tmp_path, how):
    spec, _, _ = source(tmp_path)
    prepare.prepare(spec, tmp_path / "rec", shards=4)
    shard = tmp_path / "rec" / "shard-00002-of-00004.tfrecord"
    data = bytearray(shard.read_bytes())
    record = len(data) // 60  # every record has the same length
    if how == "truncated":
        shard.write_bytes(bytes(data[:-7]))
    elif how == "cut at a record boundary":
        shard.write_bytes(bytes(data[:-record]))  # reads as a valid file of 59 records
    elif how == "deleted":
        shard.unlink()
    elif how == "flipped":
        data[-record // 2] ^= 0x40  # inside the last record's pixels: the size is unchanged
        shard.write_bytes(bytes(data))
    elif how == "shape":
        path = tmp_path / "rec" / "dataset.json"
        saved = json.loads(path.read_text())
        saved["features"]["image"]["shape"] = [16, 8, 1]
        path.write_text(json.dumps(saved))
    elif how == "count":
        path = tmp_path / "rec" / "dataset.json"
        saved = json.loads(path.read_text())
        saved["num_examples"] = 241
        path.write_text(json.dumps(saved))
    return tmp_path / "rec"


@pytest.mark.parametrize("how, message", [
    ("truncated", r"shard shard-00002-of-00004.tfrecord is \d[\d,]* bytes, dataset.json says"),
    ("cut at a record boundary", r"shard shard-00002-of-00004.tfrecord is \d[\d,]* bytes, dataset.json says"),
    ("deleted", "shard shard-00002-of-00004.tfrecord is missing"),
    ("shape", "feature 'image' holds 64 bytes; uint8 \\(16, 8, 1\\) needs 128"),
    ("count", "counts add up to 240, but dataset.json says num_examples 241"),
])
def test_a_dataset_that_does_not_match_its_description_is_refused_at_open_naming_the_shard(tmp_path, how, message):
    directory = corrupt(tmp_path, how)
    with pytest.raises(DataError, match=message):
        records.describe(directory)


def test_a_flipped_byte_passes_the_cheap_checks_and_verify_names_the_shard(tmp_path):
    directory = corrupt(tmp_path, "flipped")
    records.describe(directory)  # sizes and first records are fine
    with pytest.raises(DataError, match="shard shard-00002-of-00004.tfrecord is corrupt"):
        records.verify(directory)
    with pytest.raises(tf.errors.DataLossError):  # what TF says reading it: no file named
        list(tf.data.TFRecordDataset(str(directory / "shard-00002-of-00004.tfrecord")))


def test_prepare_refuses_what_it_cannot_write(tmp_path):
    spec, _, _ = source(tmp_path, n=3)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DataError, match="--out .*full: exists and is not an empty directory"):
        prepare.prepare(spec, tmp_path / "full")
    with pytest.raises(DataError, match="--shards 4: more shards than the 3 examples"):
        prepare.prepare(spec, tmp_path / "a", shards=4)
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob(".a.tmp-*"))  # nothing half-written
    with pytest.raises(DataError, match="--shards 0: expected a positive integer"):
        prepare.prepare(spec, tmp_path / "b", shards=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no images"):
        prepare.prepare(f"folder:{tmp_path / 'empty'}", tmp_path / "c", image_size=8)
    with pytest.raises(DataError, match="no dataset.json; write the dataset with"):
        records.describe(tmp_path / "empty")


def test_the_cli_prepares_verifies_and_answers_bad_input_in_one_line(tmp_path, capsys):
    spec, _, _ = source(tmp_path, n=20)
    assert prepare.main([spec, "--out", str(tmp_path / "rec"), "--shards", "2"]) == 0
    assert "train with --dataset tfrecords:" in capsys.readouterr().out
    assert prepare.main(["--verify", str(tmp_path / "rec")]) == 0
    assert "20 examples in 2 shards, every sha256 as dataset.json says" in capsys.readouterr().out
    assert prepare.main([spec, "--out", str(tmp_path / "rec")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not an empty directory" in err
    with pytest.raises(SystemExit) as stop:
        prepare.main([spec])
    assert stop.value.code == 2


def test_a_description_without_a_kind_holds_images_and_an_unknown_kind_is_refused(tmp_path):
    spec, _, _ = source(tmp_path, n=8)
    prepare.prepare(spec, tmp_path / "rec", shards=2)
    path = tmp_path / "rec" / "dataset.json"
    saved = json.loads(path.read_text())
    assert saved["kind"] == "images"
    del saved["kind"]  # as the first prepared datasets were written
    path.write_text(json.dumps(saved))
    assert records.kind_of(tmp_path / "rec") == "images"
    assert records.image_description(tmp_path / "rec").num_examples == 8
    path.write_text(json.dumps(dict(saved, kind="video")))
    with pytest.raises(DataError, match=r"holds data of kind 'video'; this version reads images, pairs, domains"):
        records.describe(tmp_path / "rec")


def test_a_description_that_is_not_an_object_and_features_of_another_kind_are_named(tmp_path):
    spec, _, _ = source(tmp_path, n=8)
    prepare.prepare(spec, tmp_path / "rec", shards=2)
    with pytest.raises(DataError, match=r"holds images \(image uint8 \[8, 8, 1\], label int32 \[\]\); expected pairs"):
        records.pair_description(tmp_path / "rec")
    with pytest.raises(DataError, match=r"holds images; expected two domains"):
        records.describe_domains(tmp_path / "rec")
    with pytest.raises(DataError, match=r"holds images \(image .*\); expected lines as character ids"):
        records.text_description(tmp_path / "rec")
    (tmp_path / "rec" / "dataset.json").write_text("[1, 2]")
    with pytest.raises(DataError, match=r"dataset\.json is not a JSON object"):
        records.kind_of(tmp_path / "rec")


def test_two_domains_are_published_whole_or_not_at_all(tmp_path):
    spec, x, _ = source(tmp_path, n=8)

    def write_part(part, directory):
        if part == "b":
            raise DataError("domain b: unreadable")
        return records.write(tf.data.Dataset.from_tensor_slices((x, np.zeros(8, np.int32))), directory,
                             names=("image", "label"), shards=2, source="a", num_classes=0)

    with pytest.raises(DataError, match="domain b: unreadable"):
        records.write_domains(write_part, tmp_path / "rec", source="domains:a,b", names={"a": "a", "b": "b"})
    assert not (tmp_path / "rec").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]  # no temporary directory left


def test_prepare_refuses_before_reading_and_prepares_prepared_images_again(tmp_path):
    spec, x, y = source(tmp_path, n=12)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("")
    with pytest.raises(DataError, match="--out .*full: exists and is not an empty directory"):
        prepare.prepare("captions:/nowhere.tsv", tmp_path / "full")  # refused before the source is read
    prepare.prepare(spec, tmp_path / "rec", shards=4)
    again = prepare.prepare(f"tfrecords:{tmp_path / 'rec'}", tmp_path / "two", shards=2)  # another shard count
    assert len(again.shards) == 2 and again.num_examples == 12
    got_x, _, _ = read_in_file_order(tmp_path / "two")
    assert sorted(a.tobytes() for a in got_x) == sorted(a.tobytes() for a in x)
