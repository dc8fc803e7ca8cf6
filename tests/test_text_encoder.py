"""The joint text-image embedding (nets/text_encoder.py): the loss by hand, a small training run."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.nets import text_encoder


def test_joint_embedding_loss_by_hand():
    eye = tf.eye(2)
    # Each image scores its own text 1 and the other 0: every margin is exactly met.
    assert float(text_encoder.joint_embedding_loss(eye, eye, tf.constant([0, 1]))) == 0.0
    # Texts swapped: s = [[0, 1], [1, 0]]; each of the 2 mismatched pairs costs (1 + 1 - 0) twice.
    swapped = tf.constant([[0.0, 1.0], [1.0, 0.0]])
    assert float(text_encoder.joint_embedding_loss(eye, swapped, tf.constant([0, 1]))) == pytest.approx(4.0)
    # Pairs of one class are not contrasted.
    assert float(text_encoder.joint_embedding_loss(eye, swapped, tf.constant([3, 3]))) == 0.0


def bars(n: int, seed: int = 0):
    """n 28x28 'digits': a bar whose column says its label, with random thickness and shear."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28, 1), np.uint8)
    y = np.arange(n) % 10
    for img, label in zip(x, y):
        width, shear = rng.integers(1, 5), rng.uniform(-0.3, 0.3)
        for row in range(6, 22):
            col = int(round(3 + 2 * label + shear * (14 - row)))
            img[row, max(col, 0):col + width, 0] = 255
    return x, y


def test_a_small_run_learns_to_match_text_with_images_and_writes_a_frozen_string_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path / "cache"))
    x, y = bars(640)
    np.savez(tmp_path / "bars.npz", x=x, y=y)
    out = tmp_path / "enc" / "text.keras"
    report = text_encoder.train_text_encoder(f"npz:{tmp_path / 'bars.npz'}", out, epochs=20, held_out=200, verbose=0)
    assert json.loads(out.with_suffix(".json").read_text()) == report
    assert not list(out.parent.glob(".*tmp*"))  # written atomically, nothing left behind
    # The bar's column is its label, so the digit is recoverable from the image: retrieval by
    # text must beat chance (0.1) clearly, in the phrasings it read and in those it never did.
    assert report["held_out_digits_training_phrasings"]["digit"] > 0.3
    assert report["held_out_digits_held_out_phrasings"]["digit"] > 0.3
    model = text_encoder.load_text_encoder(out)
    phi = model(tf.constant(["a thick seven leaning right", "a unicorn"]))
    assert phi.shape == (2, text_encoder.EMBEDDING_DIM) and not model.trainable
    with pytest.raises(ValueError, match="--text-encoder .*no such file; train one with"):
        text_encoder.load_text_encoder(tmp_path / "missing.keras")


def test_an_encoder_for_your_own_caption_file(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    lines = []
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png\ta {'red' if i % 2 else 'blue'} bird, number {i % 3}")
    (tmp_path / "captions.tsv").write_text("\n".join(lines) + "\n")
    report = text_encoder.train_text_encoder(f"captions:{tmp_path / 'captions.tsv'}", tmp_path / "enc.keras",
                                             epochs=2, verbose=0)
    assert set(report["held_out_images"]) == {"class"}  # no digits to score: captions are the classes
    model = text_encoder.load_text_encoder(tmp_path / "enc.keras")
    vocabulary = model.get_layer("tokenizer").vocabulary
    assert set(vocabulary) <= {"a", "red", "blue", "bird", "number", "0", "1", "2"} and "bird" in vocabulary
    # Prepared (tfrecords:DIR, written in another order), the same file trains the same encoder.
    from tfgan_app.data import prepare

    prepare.prepare(f"captions:{tmp_path / 'captions.tsv'}", tmp_path / "rec", shards=2, seed=4)
    again = text_encoder.train_text_encoder(f"tfrecords:{tmp_path / 'rec'}", tmp_path / "enc2.keras", epochs=2,
                                            verbose=0)
    for key in ("vocabulary", "held_out_images"):
        assert again[key] == report[key]
    assert again["final_loss"] == pytest.approx(report["final_loss"], rel=1e-6)
    assert text_encoder.load_text_encoder(tmp_path / "enc2.keras").get_layer("tokenizer").vocabulary == vocabulary
