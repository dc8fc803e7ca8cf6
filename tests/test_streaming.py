"""streaming.py: prepared TFRecords as a seeded, resumable stream; a run on it killed and resumed."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import killed_and_resumed
from tfgan_app import config as cfg
from tfgan_app.data import DataError, open_data, prepare, records, streaming
from tfgan_app.training import train as training


def prepared(tmp_path, n=240, shards=4, size=8, classes=10):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
    y = np.arange(n) % classes
    np.savez(tmp_path / "d.npz", x=x, y=y)
    prepare.prepare(f"npz:{tmp_path / 'd.npz'}", tmp_path / "rec", shards=shards)
    return streaming.open_images(f"tfrecords:{tmp_path / 'rec'}"), x, y


def stream(description, batches, start=0, seed=3, window=64, batch_size=48):
    ds = streaming.image_batches(description, batch_size=batch_size, seed=seed, window=window, start_batch=start)
    got = [(((x.numpy() + 1) * 127.5).round().astype(np.uint8), y.numpy()) for x, y in ds.take(batches)]
    return np.concatenate([g[0] for g in got]), np.concatenate([g[1] for g in got])


def rows(a):
    return [r.tobytes() for r in a]


def test_every_epoch_is_the_dataset_once_labels_follow_images_and_epochs_differ(tmp_path):
    description, x, y = prepared(tmp_path)
    images, labels = stream(description, 15)  # 720 examples: three epochs of 240
    by_image = dict(zip(rows(x), y))
    assert [by_image[r] for r in rows(images)] == labels.tolist()
    epochs = [rows(images[i * 240:(i + 1) * 240]) for i in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == sorted(rows(x))
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2] and epochs[0] != epochs[2]


def test_window_one_reads_the_permuted_shards_in_turn(tmp_path):
    # No window shuffle (K = 1): epoch e is the shards in the order of (seed, e), read one record
    # from each of the first C = 4 in turn.  With 2 shards: a, b, a, b, ...
    description, _, _ = prepared(tmp_path, n=20, shards=2)
    files = [list(tf.data.TFRecordDataset(p)) for p in description.paths()]
    expected = []
    for epoch in range(2):
        a, b = (files[int(i)] for i in streaming.permutation(2, [3, epoch, streaming.SHARD_SALT]))
        expected += [r for pair in zip(a, b) for r in pair]
    got = streaming.record_batches(description, batch_size=10, seed=3, window=1)
    assert [r for batch in got.take(4) for r in batch.numpy()] == [r.numpy() for r in expected]


def test_a_stream_from_batch_k_is_the_stream_from_zero_without_its_first_k_batches(tmp_path):
    description, _, _ = prepared(tmp_path)
    whole, whole_labels = stream(description, 12)
    for k in (1, 4, 5, 7):  # 5 * 48 = 240: an epoch boundary; 7 * 48 = 336 within epoch 1
        part, part_labels = stream(description, 12 - k, start=k)
        np.testing.assert_array_equal(part, whole[k * 48:])
        np.testing.assert_array_equal(part_labels, whole_labels[k * 48:])
    tf.random.set_seed(1234)  # TF's global seed plays no part (no tf.data shuffle)
    np.testing.assert_array_equal(stream(description, 2)[0], whole[:96])
    assert rows(stream(description, 1, seed=4)[0]) != rows(whole[:48])
    assert rows(stream(description, 1, window=32)[0]) != rows(whole[:48])


def test_open_images_refuses_other_shapes_and_unprepared_directories(tmp_path):
    prepared(tmp_path)
    with pytest.raises(DataError, match="--image-size 16: the records in .* hold 8x8 images"):
        streaming.open_images(f"tfrecords:{tmp_path / 'rec'}", image_size=16)
    with pytest.raises(DataError, match="--channels 3: the records in .* hold 1-channel images"):
        streaming.open_images(f"tfrecords:{tmp_path / 'rec'}", channels=3)
    with pytest.raises(DataError, match="directory does not exist"):
        streaming.open_images(f"tfrecords:{tmp_path / 'nothing'}")
    with pytest.raises(DataError, match="--shuffle-buffer 0: expected a positive integer"):
        streaming.record_batches(streaming.open_images(f"tfrecords:{tmp_path / 'rec'}"), batch_size=4, seed=0,
                                 window=0)


def serialized(description, batches, **kwargs):
    kwargs["start_batch"] = kwargs.pop("start", 0)
    ds = streaming.record_batches(description, batch_size=5, seed=3, window=4, **kwargs)
    return [r for batch in ds.take(batches) for r in batch.numpy()]


def test_file_sharding_gives_each_worker_its_own_shards_and_resumes_within_them(tmp_path):
    # 23 examples in 4 shards of 6, 6, 6, 5: a worker of two reads 11 or 12 records an epoch.
    description, _, _ = prepared(tmp_path, n=23, shards=4)
    everything = sorted(serialized(description, 1 + 23 // 5, start=0)[:23])
    assert len(set(everything)) == 23
    sizes = {}
    for worker in (0, 1):
        shards = streaming.shard_order(description, 0, seed=3, worker=worker, workers=2).numpy()
        sizes[worker] = sum(description.shards[i].num_examples for i in shards)
        assert streaming.locate(description, sizes[worker], seed=3, worker=worker, workers=2) == (1, 0)
    assert sizes[0] + sizes[1] == 23
    first = {w: serialized(description, 6, worker=w, workers=2) for w in (0, 1)}  # 30 records: 2+ epochs
    assert not set(first[0][:sizes[0]]) & set(first[1][:sizes[1]])  # disjoint in epoch 0 ...
    assert sorted(first[0][:sizes[0]] + first[1][:sizes[1]]) == everything  # ... and together the dataset
    # Worker 1's epoch 0 holds 11 or 12 records: batch 2 (records 10-14) straddles its epochs 0 and 1.
    for k in (1, 2, 3, 4):
        np.testing.assert_array_equal(serialized(description, 6 - k, start=k, worker=1, workers=2),
                                      first[1][5 * k:])
    with pytest.raises(DataError, match="--data-sharding file: 5 workers but 4 shards"):
        streaming.record_batches(description, batch_size=5, seed=3, window=4, worker=0, workers=5)


def test_a_worker_pipeline_feeds_its_replicas_from_the_global_batch_index(tmp_path):
    prepared(tmp_path, n=40, shards=4, size=28)
    config = cfg.preset("dcgan", dataset=f"tfrecords:{tmp_path / 'rec'}", **TINY).validate()
    stream = open_data(config)
    assert stream.files == 4
    # Two workers of two replicas each: a step takes 4 / 4 = 1 example a replica, two a worker;
    # global batch 3 is this worker's per-replica batch 6.
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=4)
    got = [x.numpy() for x in stream.worker_batches(3, context).take(2)]
    description = streaming.open_images(config.dataset)
    direct = streaming.image_batches(description, batch_size=1, seed=config.seed, window=16, start_batch=6,
                                     worker=1, workers=2)
    for a, (b, _) in zip(got, direct.take(2)):
        assert a.shape == (1, 28, 28, 1)
        np.testing.assert_array_equal(a, b.numpy())
    with pytest.raises(cfg.ConfigError, match="--data-sharding: file sharding reads the shards of --dataset tfrecords"):
        cfg.preset("dcgan", dataset="tfds:mnist", data_sharding="file").validate()


TINY = dict(width=4, latent_dim=8, batch_size=4, steps_per_epoch=3, epochs=2, shuffle_buffer=16)


def test_a_streamed_run_killed_mid_epoch_resumes_to_the_uninterrupted_weights(tmp_path):
    # 40 images, 12 per epoch: the resumed run skips 12 records of data epoch 0, within a window of 16.
    prepared(tmp_path, n=40, shards=4, size=28)
    config = cfg.preset("dcgan", dataset=f"tfrecords:{tmp_path / 'rec'}", **TINY)
    whole = training.train(config, tmp_path / "whole", verbose=0)
    assert whole.gan.discriminator.input_shape[1:] == (28, 28, 1)
    _, resumed, epoch = killed_and_resumed(config, tmp_path / "cut")
    assert epoch == 2
    for a, b in zip(whole.gan.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_shard_corrupted_under_a_run_is_named(tmp_path):
    prepared(tmp_path, n=40, shards=4, size=28)
    shard = tmp_path / "rec" / "shard-00001-of-00004.tfrecord"
    data = bytearray(shard.read_bytes())
    data[-(len(data) // 10) // 2] ^= 0x40  # the shard's last record: past the first batch's window
    shard.write_bytes(bytes(data))
    config = cfg.preset("dcgan", dataset=f"tfrecords:{tmp_path / 'rec'}", **dict(TINY, steps_per_epoch=12))
    with pytest.raises(DataError, match="shard shard-00001-of-00004.tfrecord is corrupt"):
        training.train(config, tmp_path / "run", verbose=0)
    assert records.describe(tmp_path / "rec")  # the cheap checks still pass: only verify names it
