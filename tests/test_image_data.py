"""Image data sources: every spec kind on files the tests write, errors, and a reproducible batch stream."""

import gzip
import hashlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_app.data.images import DataError, image_batches, load_examples, parse_spec
from tfgan_app.data import images

REPO = Path(__file__).resolve().parents[1]
# The MNIST test split beside the repository (../shared from the repo root); a user's clone has none.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def all_examples(ds):
    """(images, labels) of a finite dataset as numpy arrays, in order."""
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.stack(images), np.array(labels)


def take(ds, k):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(k)]


def write_idx(path, array, magic, gz=False):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + np.ascontiguousarray(array, np.uint8).tobytes()
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(data)
    return path


def digits(n=12, h=5, w=4, seed=0):
    """n random uint8 images (n, h, w) that include 0 and 255, and labels 0..9."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    x[0, 0, 0], x[1, 0, 0] = 0, 255
    return x, (np.arange(n) % 10).astype(np.uint8)


def write_npz(path, n=10, seed=0):
    """n random images (n, 6, 6, 1) whose first pixel is 20 * their index; labels index % 3."""
    x = np.random.default_rng(seed).integers(0, 256, (n, 6, 6, 1), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(n) * 20
    np.savez(path, x=x, y=np.arange(n) % 3)
    return x


# --- parse_spec --------------------------------------------------------------------


def test_parse_spec_splits_at_the_first_colon():
    assert parse_spec("tfds:mnist:train") == ("tfds", "mnist:train")
    assert parse_spec("tfds:mnist:train[:10%]") == ("tfds", "mnist:train[:10%]")
    assert parse_spec("folder:/data/a:b") == ("folder", "/data/a:b")
    assert parse_spec("npz:x.npz") == ("npz", "x.npz")


@pytest.mark.parametrize("spec", ["mnist", "foo:bar", "tfds:", "", "mnistidx:/x"])
def test_parse_spec_rejects_unknown_schemes_and_lists_the_forms(spec):
    with pytest.raises(DataError, match="--dataset") as err:
        parse_spec(spec)
    if spec != "tfds:":
        assert "tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR, npz:FILE" in str(err.value)
    if spec == "mnist":
        assert "did you mean tfds:mnist?" in str(err.value)


@pytest.mark.parametrize("spec, kind", [("mnist-idx:/x/nope", "directory"), ("folder:/x/nope", "directory"),
                                        ("npz:/x/nope.npz", "file")])
def test_missing_paths_name_the_flag_and_what_was_expected(spec, kind):
    with pytest.raises(DataError, match=f"^--dataset {spec}: {kind} does not exist$"):
        load_examples(spec, image_size=8)


def test_bad_image_size_and_channels():
    with pytest.raises(DataError, match="--image-size"):
        load_examples("npz:/x.npz", image_size=0)
    with pytest.raises(DataError, match="--channels 2"):
        load_examples("npz:/x.npz", channels=2)


# --- mnist-idx ------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("with_labels", [True, False])
def test_mnist_idx_round_trips_pixels_and_labels(tmp_path, gz, with_labels):
    x, y = digits()
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", x, 2051, gz)
    if with_labels:
        write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", y, 2049, gz)
    ds, source = load_examples(f"mnist-idx:{tmp_path}")
    images, labels = all_examples(ds)
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    np.testing.assert_array_equal(images, x[..., None])
    np.testing.assert_array_equal(labels, y if with_labels else np.full(len(x), -1))
    assert source.num_examples == 12
    assert source.num_classes == (10 if with_labels else 0)
    assert source.image_shape == (5, 4, 1)
    assert f"t10k-images-idx3-ubyte{suffix}" in source.name


def test_mnist_idx_prefers_train_over_t10k(tmp_path):
    train, _ = digits(n=6, seed=1)
    test, _ = digits(n=4, seed=2)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train, 2051, gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", test, 2051, gz=True)
    ds, source = load_examples(f"mnist-idx:{tmp_path}")
    np.testing.assert_array_equal(all_examples(ds)[0][..., 0], train)
    assert source.num_examples == 6


def test_mnist_idx_batches_scale_exactly_to_minus_one_and_one(tmp_path):
    x, y = digits()
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x, 2051)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y, 2049)
    ds, source = image_batches(f"mnist-idx:{tmp_path}", batch_size=12, seed=3)
    images, labels = take(ds, 1)[0]
    assert images.dtype == np.float32 and images.shape == (12, 5, 4, 1)
    # One batch of N is one epoch: a permutation. Undo it through the (distinct) first pixels' rows.
    order = [int(np.flatnonzero((x == np.rint((im[..., 0] + 1) * 127.5)).all(axis=(1, 2)))[0]) for im in images]
    assert sorted(order) == list(range(12))
    np.testing.assert_array_equal(labels, y[order])
    np.testing.assert_array_equal(images[..., 0], x[order].astype(np.float32) / 127.5 - 1)
    assert images[order.index(0), 0, 0, 0] == -1.0  # pixel 0
    assert images[order.index(1), 0, 0, 0] == 1.0   # pixel 255
    assert images.min() == -1.0 and images.max() == 1.0


def test_mnist_idx_bad_magic_names_the_file(tmp_path):
    x, y = digits()
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte", x, 2049)  # the labels magic
    with pytest.raises(DataError, match=f"{path} is not an IDX images file \\(magic number 2049, expected 2051\\)"):
        load_examples(f"mnist-idx:{tmp_path}")


def test_mnist_idx_truncated_images_name_the_file(tmp_path):
    x, _ = digits()
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte", x, 2051)
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataError, match=f"{path} is truncated: 233 bytes of data, dimensions \\(12, 5, 4\\) need 240"):
        load_examples(f"mnist-idx:{tmp_path}")


def test_mnist_idx_truncated_gzip_and_label_count_name_the_file(tmp_path):
    x, y = digits()
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x, 2051)
    labels = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", y[:5], 2049, gz=True)
    with pytest.raises(DataError, match=f"{labels} has 5 labels but .* has 12 images"):
        load_examples(f"mnist-idx:{tmp_path}")
    labels.write_bytes(labels.read_bytes()[:-10])
    with pytest.raises(DataError, match=f"cannot read {labels}"):
        load_examples(f"mnist-idx:{tmp_path}")


def test_mnist_idx_without_image_files(tmp_path):
    with pytest.raises(DataError, match="no \\*-images-idx3-ubyte\\[.gz\\] file"):
        load_examples(f"mnist-idx:{tmp_path}")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"shared MNIST not present at {SHARED_MNIST}")
def test_mnist_idx_reads_the_real_mnist_test_split():
    ds, source = load_examples(f"mnist-idx:{SHARED_MNIST}")
    assert (source.num_examples, source.num_classes, source.image_shape) == (10000, 10, (28, 28, 1))
    images, labels = next(iter(ds.batch(20000)))
    assert images.shape == (10000, 28, 28, 1) and images.dtype == tf.uint8
    # Label counts from ../shared/data/README.md.
    np.testing.assert_array_equal(np.bincount(labels.numpy()), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert int(tf.reduce_max(images)) == 255 and int(tf.reduce_min(images)) == 0


# --- folder ---------------------------------------------------------------------------------


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return array


def test_folder_classes_are_sorted_subfolder_names(tmp_path):
    rng = np.random.default_rng(0)
    made = {}
    for cls in ["dog", "ant", "cat"]:  # sorted: ant=0, cat=1, dog=2
        for i in range(2):
            made[(cls, i)] = save(tmp_path / cls / f"{i}.png", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    ds, source = load_examples(f"folder:{tmp_path}", image_size=16)
    images, labels = all_examples(ds)
    assert (source.num_examples, source.num_classes, source.image_shape) == (6, 3, (16, 16, 3))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(images[4], made[("dog", 0)])  # 16x16 already: pixels unchanged


def test_folder_resizes_center_crops_and_converts_channels(tmp_path):
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:, 10:30] = 200  # the center 20x20 square is all 200; the sides (cropped away) are 0
    save(tmp_path / "wide.jpg", wide)
    grey = save(tmp_path / "grey.png", np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    ds, source = load_examples(f"folder:{tmp_path}", image_size=16)
    assert (source.num_classes, source.image_shape) == (0, (16, 16, 3))  # one colour file: RGB
    images, labels = all_examples(ds)
    np.testing.assert_array_equal(labels, [-1, -1])
    assert images.shape == (2, 16, 16, 3)
    assert np.abs(images[1].astype(int) - 200).max() <= 3  # wide.jpg: only the center survived (JPEG error)
    np.testing.assert_array_equal(images[0][..., 0], images[0][..., 2])  # grey.png replicated to RGB
    ds, source = load_examples(f"folder:{tmp_path}", image_size=8, channels=1)
    images, _ = all_examples(ds)
    assert source.image_shape == (8, 8, 1)
    np.testing.assert_array_equal(images[0][..., 0], grey)  # grey -> RGB -> luma is exact


def test_folder_of_greyscale_files_defaults_to_one_channel(tmp_path):
    save(tmp_path / "a.png", np.full((4, 4), 7, np.uint8))
    save(tmp_path / "b.bmp", np.full((4, 4), 9, np.uint8))
    ds, source = load_examples(f"folder:{tmp_path}", image_size=4)
    assert source.image_shape == (4, 4, 1)
    np.testing.assert_array_equal(all_examples(ds)[0][:, 0, 0, 0], [7, 9])


@pytest.mark.parametrize("name, cut", [("broken.png", 0.5), ("broken.jpg", 0.5), ("junk.png", None)])
def test_folder_corrupt_file_is_named(tmp_path, name, cut):
    save(tmp_path / "ok" / "fine.png", np.zeros((8, 8, 3), np.uint8))
    bad = tmp_path / "ok" / name
    if cut is None:
        bad.write_bytes(b"this is not a png")
    else:
        save(bad, np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
        bad.write_bytes(bad.read_bytes()[:int(bad.stat().st_size * cut)])
    with pytest.raises(DataError, match=f"cannot read image {bad}"):
        load_examples(f"folder:{tmp_path}", image_size=8)


def test_folder_empty_and_missing_image_size(tmp_path):
    with pytest.raises(DataError, match="has no images"):
        load_examples(f"folder:{tmp_path}", image_size=8)
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match=f"class folder {tmp_path / 'cls'} has no images"):
        load_examples(f"folder:{tmp_path}", image_size=8)
    with pytest.raises(DataError, match="need --image-size"):
        load_examples(f"folder:{tmp_path}")


def test_a_folder_streams_the_batches_the_in_memory_path_gives_from_any_batch(tmp_path):
    rng = np.random.default_rng(2)
    for cls in ["a", "b", "c"]:
        for i in range(5):  # 15 files of mixed sizes: each is cropped and resized as it is read
            save(tmp_path / cls / f"{i}.png", rng.integers(0, 256, (12 + i, 10 + 2 * i, 3), dtype=np.uint8))
    spec = f"folder:{tmp_path}"
    held, source = image_batches(spec, batch_size=4, seed=5, image_size=8, channels=1)
    folder = images.open_folder(spec, image_size=8, channels=1)
    assert folder.source == source and folder.paths.shape == (15,) and folder.paths.dtype.kind == "U"  # paths, not pixels
    for start in (0, 3, 4):  # 15 files, 4 a batch: batch 3 straddles epochs 0 and 1
        streamed = images.folder_batches(folder, batch_size=4, seed=5, start_batch=start)
        for (x, y), (u, v) in zip(held.skip(start).take(5), streamed.take(5)):
            np.testing.assert_array_equal(x.numpy(), u.numpy())
            np.testing.assert_array_equal(y.numpy(), v.numpy())
    with pytest.raises(DataError, match="expected folder:DIR"):
        images.open_folder(f"npz:{tmp_path}", image_size=8)


# --- npz ----------------------------------------------------------------------------------------


def test_npz_with_labels_round_trips(tmp_path):
    x = write_npz(tmp_path / "d.npz")
    ds, source = load_examples(f"npz:{tmp_path / 'd.npz'}")
    images, labels = all_examples(ds)
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, np.arange(10) % 3)
    assert (source.num_examples, source.num_classes, source.image_shape) == (10, 3, (6, 6, 1))


@pytest.mark.parametrize("scale", ["unit", "signed", "byte"])
def test_npz_float_ranges_without_labels(tmp_path, scale):
    x = np.random.default_rng(0).integers(0, 256, (4, 3, 3, 3), dtype=np.uint8)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0, 255
    stored = {"unit": x / 255.0, "signed": x / 127.5 - 1.0, "byte": x.astype(np.float32)}[scale]
    np.savez(tmp_path / "f.npz", x=stored.astype(np.float32))
    ds, source = load_examples(f"npz:{tmp_path / 'f.npz'}")
    images, labels = all_examples(ds)
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, [-1] * 4)
    assert (source.num_classes, source.image_shape) == (0, (3, 3, 3))


def test_npz_resize_and_channels(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.full((2, 4, 4), 100, np.uint8))
    ds, source = load_examples(f"npz:{tmp_path / 'd.npz'}", image_size=8, channels=3)
    images, _ = all_examples(ds)
    assert source.image_shape == (8, 8, 3) and images.shape == (2, 8, 8, 3)
    assert (images == 100).all()  # a constant image stays constant through resize


def test_npz_errors_name_the_file_and_what_was_expected(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((2, 4, 4), np.uint8), labels=np.zeros(2))
    with pytest.raises(DataError, match=f"{path} has no array 'x' \\(images\\); it has: images, labels"):
        load_examples(f"npz:{path}")
    np.savez(path, x=np.zeros((2, 4, 4), np.uint8), y=np.zeros(3, np.int64))
    with pytest.raises(DataError, match="y has shape \\(3,\\); expected \\(2,\\)"):
        load_examples(f"npz:{path}")
    np.savez(path, x=np.full((2, 4, 4), 300.0))
    with pytest.raises(DataError, match="float x spans 300..300"):
        load_examples(f"npz:{path}")
    np.savez(path, x=np.zeros((2, 4, 4, 2), np.uint8))
    with pytest.raises(DataError, match="C 1 or 3"):
        load_examples(f"npz:{path}")
    path.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=f"{path} is not an .npz archive of arrays") as err:
        load_examples(f"npz:{path}")
    assert "allow_pickle" not in str(err.value) and "unsafe" not in str(err.value)  # never advise unpickling


# --- tfds -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("cifar10:test", (32, 32, 3))])
def test_tfds_under_mock_data(tmp_path, name, shape):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        ds, source = load_examples(f"tfds:{name}", data_dir=str(tmp_path))
        images, labels = all_examples(ds)
        batches, _ = image_batches(f"tfds:{name}", batch_size=4, seed=0, image_size=16, channels=1,
                                   data_dir=str(tmp_path))
        x, y = take(batches, 1)[0]
    assert (source.num_examples, source.num_classes, source.image_shape) == (6, 10, shape)
    assert source.name == f"tfds:{name}" + ("" if ":" in name else ":train")
    assert images.shape == (6,) + shape and images.dtype == np.uint8
    assert labels.dtype == np.int32 and set(labels) <= set(range(10))
    assert x.shape == (4, 16, 16, 1) and y.shape == (4,) and -1 <= x.min() <= x.max() <= 1


def test_tfds_unknown_name_lists_close_matches(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DataError, match="'mnsit' is not a known tensorflow-datasets dataset; try one of: mnist"):
        load_examples("tfds:mnsit", data_dir=str(tmp_path))


def test_tfds_unprepared_fails_fast_with_instructions(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    attempts = []  # a download attempt retries for minutes: none may start

    def no_network(self, address, *args):
        attempts.append(address)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(DataError) as err:
        load_examples("tfds:mnist", data_dir=str(tmp_path))
    assert attempts == []
    message = str(err.value)
    assert message.startswith(f"--dataset tfds:mnist: no prepared data in {tmp_path}; ")
    assert f"tfds.load('mnist', data_dir='{tmp_path}')" in message
    assert f"copy a prepared {tmp_path}/mnist here" in message


def test_tfds_non_image_dataset(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(DataError, match="'wine_quality' is not an image dataset"):
        load_examples("tfds:wine_quality", data_dir=str(tmp_path))


# --- image_batches: a reproducible stream -----------------------------------------------------


@pytest.fixture
def npz10(tmp_path):
    write_npz(tmp_path / "d.npz", n=10)
    return f"npz:{tmp_path / 'd.npz'}"


def test_batches_are_full_and_each_epoch_is_a_permutation(npz10):
    ds, source = image_batches(npz10, batch_size=4, seed=0)
    assert ds.element_spec[0].shape == (4, 6, 6, 1) and ds.element_spec[1].shape == (4,)
    batches = take(ds, 5)  # 20 examples = 2 epochs of 10; batch 2 straddles them
    assert all(x.shape == (4, 6, 6, 1) and y.shape == (4,) for x, y in batches)
    ids = np.concatenate([np.rint((x[:, 0, 0, 0] + 1) * 127.5) / 20 for x, _ in batches]).astype(int)
    labels = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(labels, ids % 3)  # labels travel with their images
    first, second = ids[:10], ids[10:]
    assert sorted(first) == sorted(second) == list(range(10))
    assert not np.array_equal(first, second)  # a new order each epoch


def test_same_seed_same_batches_different_seed_different(npz10):
    a = take(image_batches(npz10, batch_size=4, seed=1)[0], 6)
    b = take(image_batches(npz10, batch_size=4, seed=1)[0], 6)
    c = take(image_batches(npz10, batch_size=4, seed=2)[0], 6)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c))


def test_start_batch_k_equals_skipping_k(npz10):
    stream = take(image_batches(npz10, batch_size=3, seed=5)[0], 9)
    for k in (1, 4, 7):
        resumed = take(image_batches(npz10, batch_size=3, seed=5, start_batch=k)[0], 2)
        for (x, y), (xr, yr) in zip(stream[k:k + 2], resumed):
            np.testing.assert_array_equal(x, xr)
            np.testing.assert_array_equal(y, yr)


def test_order_ignores_the_global_seed(npz10):
    before = take(image_batches(npz10, batch_size=4, seed=1)[0], 4)
    tf.random.set_seed(1234)  # keras.utils.set_random_seed does this too; tf.data's shuffle would follow it
    try:
        tf.random.uniform([3])
        after = take(image_batches(npz10, batch_size=4, seed=1)[0], 4)
    finally:
        tf.random.set_seed(None)  # leave no global seed behind for other tests
    for (x, _), (xa, _) in zip(before, after):
        np.testing.assert_array_equal(x, xa)


def digest(batches):
    h = hashlib.sha256()
    for x, y in batches:
        h.update(x.tobytes())
        h.update(y.tobytes())
    return h.hexdigest()


SUBPROCESS = textwrap.dedent("""
    import sys
    import tensorflow as tf
    if sys.argv[2] == "disturbed":  # different process state before building the stream
        tf.random.set_seed(99)
        tf.random.uniform([7])
        list(tf.data.Dataset.range(5).shuffle(5))
    import hashlib
    from tfgan_app.data.images import image_batches
    h = hashlib.sha256()
    for x, y in image_batches(sys.argv[1], batch_size=4, seed=11, start_batch=3)[0].take(5):
        h.update(x.numpy().tobytes())
        h.update(y.numpy().tobytes())
    print(h.hexdigest())
""")


def test_stream_is_the_same_in_fresh_processes(npz10):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    procs = [subprocess.Popen([sys.executable, "-c", SUBPROCESS, npz10, state], cwd=REPO, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for state in ("plain", "disturbed")]
    expected = digest(take(image_batches(npz10, batch_size=4, seed=11)[0], 8)[3:])
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outputs.append(out.split()[-1])
    assert outputs == [expected, expected]


def test_batch_arguments_are_checked(npz10):
    with pytest.raises(DataError, match="--batch-size 0"):
        image_batches(npz10, batch_size=0, seed=0)
    with pytest.raises(DataError, match="start_batch -1"):
        image_batches(npz10, batch_size=2, seed=0, start_batch=-1)
