"""Lines of text as character ids (data/text.py): sources, vocabulary, held-out lines, batches, refusals."""

import numpy as np
import pytest

from tfgan_app import config as cfg
from tfgan_app.data import open_data
from tfgan_app.data import text as text_data


def write(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return f"text:{path}"


def test_lines_are_cut_padded_and_every_tenth_is_held_out(tmp_path):
    lines = [f"line {i:02d} " + "x" * i for i in range(20)]
    spec = write(tmp_path / "t.txt", "\n\n".join(lines) + "\n   \n")  # empty lines dropped, ends stripped
    data = text_data.load_text(spec, seq_len=12, vocab=100)
    assert data.train.shape == (18, 12) and data.held_out.shape == (2, 12)
    # The vocabulary comes from the training lines: "9" is only in held-out ones, so it is UNKNOWN.
    assert text_data.decode(data.held_out, data.vocabulary) == ["line 0\ufffd xxxx", "line 1\ufffd xxxx"]
    assert text_data.decode(data.train[:2], data.vocabulary) == ["line 00", "line 01 x"]
    assert data.train[0, 7:].tolist() == [text_data.PAD] * 5  # "line 00" is 7 characters, then PAD
    assert data.shape == {"tokens": (12,), "vocabulary": data.vocabulary}


def test_the_vocabulary_ranks_characters_by_count_then_code_point_and_the_rest_is_unknown(tmp_path):
    spec = write(tmp_path / "t.txt", "\n".join(["aaab", "bbcd"] * 5 + ["zz"] * 5))
    # Training lines (held out: line 9 "bbcd" and 19 "zz"): a 15, b 20 (5*1 + 5*2 - 1*2 ... counted below)
    data = text_data.load_text(spec, seq_len=4, vocab=5)  # 3 characters fit
    train_text = "".join(line for i, line in enumerate((["aaab", "bbcd"] * 5 + ["zz"] * 5)) if i % 10 != 9)
    counts = {ch: train_text.count(ch) for ch in set(train_text)}
    want = sorted(counts, key=lambda ch: (-counts[ch], ord(ch)))[:3]
    assert data.vocabulary == tuple(ord(ch) for ch in want)
    ids = text_data.encode(["abcd"], data.vocabulary, 4)[0]
    assert [text_data.UNKNOWN if ch not in want else want.index(ch) + 2 for ch in "abcd"] == ids.tolist()
    assert text_data.decode([ids], data.vocabulary)[0] == "".join(ch if ch in want else "\ufffd" for ch in "abcd")


def test_the_offline_default_is_cpythons_own_english_text():
    data = text_data.load_text("pydoc-topics", seq_len=32, vocab=2048)
    from pydoc_data.topics import topics

    lines = [line.strip() for key in sorted(topics) for line in topics[key].splitlines() if line.strip()]
    assert len(data.train) + len(data.held_out) == len(lines) > 8000
    assert len(data.held_out) == len(lines) // 10
    assert text_data.decode(data.train[:1], data.vocabulary)[0] == lines[0][:32]
    assert text_data.UNKNOWN not in data.train  # ~100 characters: all fit in 2,048


def test_a_directory_is_read_file_by_file_in_path_order(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("\n".join(f"b{i}" for i in range(6)))
    (tmp_path / "d" / "sub" / "a.txt").write_text("\n".join(f"s{i}" for i in range(6)))
    data = text_data.load_text(f"text:{tmp_path / 'd'}", seq_len=4, vocab=50)
    decoded = text_data.decode(np.concatenate([data.train, data.held_out]), data.vocabulary)
    assert sorted(decoded) == sorted([f"b{i}" for i in range(6)] + [f"s{i}" for i in range(6)])
    assert text_data.decode(data.held_out, data.vocabulary) == ["s3"]  # b0..b5 then s0..s5: line 9 is s3


def test_batches_are_a_function_of_seed_and_index():
    ids = np.arange(70, dtype=np.int32).reshape(35, 2)
    whole = [b.numpy() for b in text_data.text_batches(ids, batch_size=8, seed=3).take(6)]
    later = [b.numpy() for b in text_data.text_batches(ids, batch_size=8, seed=3, start_batch=4).take(2)]
    np.testing.assert_array_equal(whole[4], later[0])
    np.testing.assert_array_equal(whole[5], later[1])
    first_epoch = np.concatenate(whole)[:35]  # 35 rows: each row once in the first epoch
    assert sorted(first_epoch[:, 0].tolist()) == list(range(0, 70, 2))
    other = next(iter(text_data.text_batches(ids, batch_size=8, seed=4))).numpy()
    assert not np.array_equal(other, whole[0])


def test_a_text_run_opens_its_data_with_the_vocabulary_as_its_shape(tmp_path):
    spec = write(tmp_path / "t.txt", "\n".join(["hello world"] * 30))
    config = cfg.preset("text-wgan-gp", dataset=spec, seq_len=8, batch_size=4, n_critic=2)
    data = open_data(config)
    # "hello wo" (cut to 8): l and o twice (by code point), then space, e, h, w once
    assert data.shape == {"tokens": (8,), "vocabulary": tuple(ord(c) for c in "lo ehw")}
    batch = next(iter(data.batches(0))).numpy()
    assert batch.shape == (8, 8) and batch.dtype == np.int32


@pytest.mark.parametrize("content, message", [
    (b"", "holds 0 non-empty lines"),
    (b"\n  \n\t\n", "holds 0 non-empty lines"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary (a NUL byte at 8)"),
    (b"caf\xe9 au lait\n" * 20, "is not UTF-8 text (byte 3"),
])
def test_unusable_text_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(text_data.TextError, match=r"--dataset text:.*bad\.txt") as e:
        text_data.load_text(f"text:{path}")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_unknown_sources_and_settings_are_refused(tmp_path):
    with pytest.raises(text_data.TextError, match="unknown text source; expected one of pydoc-topics"):
        text_data.load_text("folder:x")
    with pytest.raises(text_data.TextError, match="neither a file nor a directory"):
        text_data.load_text(f"text:{tmp_path / 'missing'}")
    with pytest.raises(text_data.TextError, match="only lm1b|are lm1b"):
        text_data.load_text("tfds:mnist")
    with pytest.raises(cfg.ConfigError, match="--game: text is learnt by the chargan game"):
        cfg.Config(problem="text", dataset="pydoc-topics").validate()
    with pytest.raises(cfg.ConfigError, match="--problem: chargan learns text"):
        cfg.Config(game="chargan").validate()
    with pytest.raises(cfg.ConfigError, match="--seq-len: expected --seq-len >= 4"):
        cfg.preset("text-wgan-gp", seq_len=3)
    with pytest.raises(cfg.ConfigError, match="--pack"):
        cfg.preset("text-wgan-gp", pack=2)


def test_lm1b_is_read_through_tensorflow_datasets(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):  # tfds's own stand-in for a prepared lm1b: random text
        expected = [t.decode() for t in tfds.as_numpy(tfds.load("lm1b", split="test").map(lambda e: e["text"]))]
        assert text_data.read_lines("tfds:lm1b:test", data_dir=str(tmp_path)) == [t.strip() for t in expected if t.strip()]
        monkeypatch.setattr(text_data, "TFDS_MAX_LINES", 11)  # at most this many sentences are read
        assert len(text_data.read_lines("tfds:lm1b", data_dir=str(tmp_path))) == 11
    with pytest.raises(text_data.TextError, match=r"--dataset tfds:lm1b: no prepared lm1b in .*tfds.load\('lm1b'\)"
                                                  r".* on a machine with internet"):
        text_data.read_lines("tfds:lm1b", data_dir=str(tmp_path / "empty"))


def test_prepared_text_streams_the_training_lines_and_keeps_the_held_out_ones_and_the_vocabulary(tmp_path):
    from tfgan_app.data import prepare, records

    lines = [f"line {i:02d} " + "xyz"[i % 3] * (i % 7) for i in range(40)]
    spec = write(tmp_path / "t.txt", "\n".join(lines))
    description = prepare.prepare(spec, tmp_path / "rec", shards=3, seq_len=12, vocab=10)
    assert description.kind == "text" and description.features == {"ids": {"dtype": "int32", "shape": [12]}}
    source, prepared = text_data.load_text(spec, 12, 10), text_data.load_text(f"tfrecords:{tmp_path / 'rec'}", 12, 10)
    assert prepared.vocabulary == source.vocabulary and description.meta["vocabulary"] == list(source.vocabulary)
    np.testing.assert_array_equal(prepared.held_out, source.held_out)  # in their order
    assert sorted(map(tuple, prepared.train)) == sorted(map(tuple, source.train))  # written in a seeded order

    config = cfg.preset("text-wgan-gp", dataset=f"tfrecords:{tmp_path / 'rec'}", seq_len=12, vocab=10,
                        batch_size=6, n_critic=1)
    stream = open_data(config)
    assert stream.shape == {"tokens": (12,), "vocabulary": source.vocabulary}
    batches = [b.numpy() for b in stream.batches(0).take(12)]  # 72 rows: two epochs of the 36 training lines
    rows = np.concatenate(batches)
    for epoch in (rows[:36], rows[36:]):
        assert sorted(map(tuple, epoch)) == sorted(map(tuple, source.train))  # each line once an epoch
    np.testing.assert_array_equal(next(iter(stream.batches(7))).numpy(), batches[7])  # resumed at batch 7
    for flag, value in (("seq_len", 16), ("vocab", 20)):
        with pytest.raises(text_data.TextError, match=f"--{flag.replace('_', '-')} {value}: the records in .* were "
                                                      f"prepared with --{flag.replace('_', '-')}"):
            open_data(cfg.preset("text-wgan-gp", dataset=config.dataset, **{"seq_len": 12, "vocab": 10,
                                                                              flag: value}))
    assert [d.num_examples for d in records.verify_dataset(tmp_path / "rec")] == [36, 4]


def test_prepare_reads_text_as_a_stream_and_writes_the_in_memory_order(tmp_path, monkeypatch):
    from tfgan_app.data import prepare, records

    (tmp_path / "dir").mkdir()  # three files, a line break of each kind, a line cut at --seq-len
    write(tmp_path / "dir" / "a.txt", "".join(f"alpha {i}\r\n" for i in range(13)))
    write(tmp_path / "dir" / "b.txt", "b\u2028" * 5 + "  \n\n" + "a line longer than sixteen characters")
    write(tmp_path / "dir" / "c.txt", "\n".join(f"gamma {i} " + "é" * i for i in range(19)))
    spec = f"text:{tmp_path / 'dir'}"
    source = text_data.load_text(spec, 16, 12)
    monkeypatch.setattr(text_data, "read_lines", lambda *a, **k: pytest.fail("prepare read the text whole"))
    monkeypatch.setattr(prepare, "TEXT_CHUNK", 5)  # lines go to the ids' files five at a time
    description = prepare.prepare(spec, tmp_path / "rec", shards=1, seq_len=16, vocab=12, seed=2)
    assert description.meta["vocabulary"] == list(source.vocabulary)
    order = prepare.write_order(len(source.train), 2, prepare.TEXT_ORDER_SALT)
    np.testing.assert_array_equal(records.read_all(description)[0], source.train[order])  # one shard: write order
    held = records.read_all(records.describe(tmp_path / "rec" / records.TEXT_HELD_OUT))[0]
    np.testing.assert_array_equal(held, source.held_out)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the ids' files are gone


def test_prepare_reads_lm1b_as_training_does_or_every_sentence(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    from tfgan_app.data import DataError, prepare, records

    monkeypatch.setattr(text_data, "TFDS_MAX_LINES", 11)  # what training from the source reads
    with tfds.testing.mock_data(num_examples=25):  # tfds's own stand-in for a prepared lm1b: random text
        texts = [t.decode() for t in tfds.as_numpy(tfds.load("lm1b", split="train").map(lambda e: e["text"]))]
        source = text_data.load_text("tfds:lm1b", data_dir=str(tmp_path / "tfds"))
        capped = prepare.prepare("tfds:lm1b", tmp_path / "rec", shards=2, data_dir=str(tmp_path / "tfds"))
        every = prepare.prepare("tfds:lm1b", tmp_path / "all", shards=2, data_dir=str(tmp_path / "tfds"),
                                max_sentences=0)
    held = records.read_all(records.describe(tmp_path / "rec" / records.TEXT_HELD_OUT))[0]
    np.testing.assert_array_equal(held, source.held_out)  # the source's first 11 sentences' lines
    assert capped.num_examples == len(source.train) and capped.meta["vocabulary"] == list(source.vocabulary)
    n = sum(1 for t in texts for line in t.splitlines() if line.strip())  # all 25 sentences' lines
    assert every.num_examples == n - n // 10 > capped.num_examples
    with pytest.raises(DataError, match="^--max-sentences: SOURCE pydoc-topics is not tfds:lm1b"):
        prepare.prepare("pydoc-topics", tmp_path / "r2", max_sentences=5)


def test_prepared_text_refusals_name_the_flag_or_the_part(tmp_path):
    import dataclasses

    from tfgan_app.data import DataError, prepare, records

    spec = write(tmp_path / "t.txt", "\n".join(f"line {i}" for i in range(30)))
    with pytest.raises(DataError, match="--image-size/--channels: SOURCE text:.* is text; use --seq-len"):
        prepare.prepare(spec, tmp_path / "bad", image_size=8)
    with pytest.raises(DataError, match="--seq-len 2 --vocab 2048: expected --seq-len >= 4"):
        prepare.prepare(spec, tmp_path / "bad", seq_len=2)
    prepare.prepare(spec, tmp_path / "rec", shards=2, seq_len=8, vocab=12)
    text_config = cfg.preset("text-wgan-gp", dataset=f"tfrecords:{tmp_path / 'rec'}", seq_len=8, vocab=12)
    with pytest.raises(DataError, match="--data-service grpc://127.0.0.1:1: the tf.data service reads prepared "
                                        "images; .* holds text"):
        open_data(dataclasses.replace(text_config, data_service="grpc://127.0.0.1:1"))
    with pytest.raises(DataError, match="holds the held-out lines of .*rec; train on that"):
        open_data(dataclasses.replace(text_config, dataset=f"tfrecords:{tmp_path / 'rec' / 'held_out'}"))
    with pytest.raises(DataError, match="holds text; train it with --problem text"):
        open_data(cfg.preset("dcgan-mnist", dataset=text_config.dataset))
    with pytest.raises(DataError, match="SOURCE tfrecords:.*rec: holds text; only prepared images can be prepared"):
        prepare.prepare(text_config.dataset, tmp_path / "again")
    # A record corrupted inside a shard (past the first record, which opening checks) is named when read.
    shard = tmp_path / "rec" / records.describe(tmp_path / "rec").shards[0].file
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"shard shard-00000-of-00002\.tfrecord is corrupt"):
        text_data.load_text(text_config.dataset, 8, 12)
    assert len(text_data.held_out_ids(text_config.dataset, 8, 12)) == 3  # the held-out part alone still reads
