"""Run directories and full-state resume on a toy problem."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.training import run_dir
from tfgan_app.training import train as training
from tfgan_app import config as cfg


def small(**kw):
    base = dict(g_hidden=(16,), d_hidden=(16,), batch_size=32, steps_per_epoch=10, epochs=4,
                loss="wgan-gp", n_critic=2)
    base.update(kw)
    return cfg.preset("ring8", **base)


def all_weights(gan):
    average = gan.generator_ema.get_weights() if gan.generator_ema is not None else []
    return gan.generator.get_weights() + gan.discriminator.get_weights() + average


@pytest.mark.parametrize("g_ema", [0.0, 0.9])
def test_resumed_run_reaches_the_uninterrupted_weights(tmp_path, g_ema):
    straight = training.train(small(g_ema=g_ema), tmp_path / "a", verbose=0)
    training.train(small(epochs=2, g_ema=g_ema), tmp_path / "b", verbose=0)
    resumed = training.train(small(g_ema=g_ema), tmp_path / "b", verbose=0)
    assert resumed.initial_epoch == 2
    assert int(resumed.gan.g_optimizer.iterations) == 40
    assert len(all_weights(resumed.gan)) == (12 if g_ema else 8)  # the average is in the checkpoint
    for x, y in zip(all_weights(straight.gan), all_weights(resumed.gan)):
        np.testing.assert_array_equal(x, y)
    # The metrics log has one row per epoch, without duplicates.
    rows = (tmp_path / "b" / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == [1, 2, 3, 4]


def test_finished_run_is_not_retrained(tmp_path):
    training.train(small(epochs=1), tmp_path, verbose=0)
    again = training.train(small(epochs=1), tmp_path, verbose=0)
    assert again.initial_epoch == 1 and again.history == {}


def test_conflicting_config_is_refused_and_fresh_starts_over(tmp_path):
    training.train(small(epochs=1), tmp_path, verbose=0)
    with pytest.raises(run_dir.RunDirError, match="holds a run with n_critic=2 but this command asks for 3"):
        run_dir.prepare(tmp_path, small(n_critic=3))
    config, resuming = run_dir.prepare(tmp_path, small(n_critic=3), fresh=True)
    assert not resuming and config.n_critic == 3
    assert not (tmp_path / "checkpoints").exists()


def test_plan_decides_like_prepare_and_touches_nothing(tmp_path):
    training.train(small(epochs=1), tmp_path / "run", verbose=0)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    config, resuming = run_dir.plan(tmp_path / "run", small(epochs=3))
    assert resuming and config.epochs == 3
    config, resuming = run_dir.plan(tmp_path / "run", small(n_critic=3), fresh=True)
    assert not resuming and config.n_critic == 3
    assert run_dir.plan(tmp_path / "new", small()) == (small(), False)
    with pytest.raises(run_dir.RunDirError, match="holds a run with n_critic=2"):
        run_dir.plan(tmp_path / "run", small(n_critic=3))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written or deleted
    assert run_dir.load_config(tmp_path / "run").epochs == 1


def _checkpoint_in(workdir):
    """A checkpoint in a prepared run directory: a run that finished an epoch."""
    state = tf.train.Checkpoint(epoch=tf.Variable(1))
    tf.train.CheckpointManager(state, str(workdir / run_dir.CHECKPOINT_DIR), 1).save()


def test_only_named_fields_are_compared(tmp_path):
    run_dir.prepare(tmp_path, small(seed=5, plot_every=3, eval_every=2))
    _checkpoint_in(tmp_path)
    # `python train.py --workdir X --epochs 9` on a run made from another preset: resumes it,
    # with the run's own values of the resumable fields it was not given.
    config, resuming = run_dir.prepare(tmp_path, cfg.preset("gaussian1d", epochs=9), compare=("epochs",))
    assert resuming and config.problem == "ring8" and config.seed == 5 and config.epochs == 9
    assert (config.plot_every, config.eval_every) == (3, 2)


def test_a_bare_resume_of_a_multi_worker_run_is_refused_in_one_process(tmp_path):
    run_dir.prepare(tmp_path, small(strategy="multiworker"))
    _checkpoint_in(tmp_path)
    with pytest.raises(run_dir.RunDirError, match="holds a multi-worker run; resume it with --strategy multiworker"):
        training.train(small(), tmp_path, compare=("epochs",), verbose=0)


def test_a_config_without_a_checkpoint_is_no_run_and_is_replaced(tmp_path):
    # A run refused or killed before its first epoch ended leaves config.json and no
    # checkpoint: the next command, whatever it asks, starts there afresh.
    run_dir.prepare(tmp_path, small(seed=5))
    (tmp_path / "metrics.csv").write_text("epoch\n")
    config, resuming = run_dir.prepare(tmp_path, small(seed=6, n_critic=3))
    assert not resuming and config.seed == 6
    assert run_dir.load_config(tmp_path).n_critic == 3
    assert not (tmp_path / "metrics.csv").exists()


def test_non_empty_directory_without_a_run_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(run_dir.RunDirError, match="not empty and holds no run"):
        run_dir.prepare(tmp_path, small())


def test_interrupted_checkpoint_write_leaves_the_previous_one(tmp_path):
    # TF writes ckpt-N's files first and only then swaps the `checkpoint` index file
    # (atomically).  A process killed in between leaves partial ckpt-2 files and an index
    # still naming ckpt-1: resume must use ckpt-1, intact.
    done = training.train(small(epochs=1), tmp_path, verbose=0)
    g1 = [w.numpy() for w in done.gan.generator.weights]
    ckpts = tmp_path / "checkpoints"
    (ckpts / "ckpt-2.index").write_bytes(b"partial")
    (ckpts / "ckpt-2.data-00000-of-00001").write_bytes(b"\0" * 10)
    _, gan, epoch = run_dir.restore_run(tmp_path)
    assert epoch == 1
    for x, y in zip(g1, gan.generator.weights):
        np.testing.assert_array_equal(x, y.numpy())


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_before_layout"
# How tests/fixtures/run_before_layout was written, by the code before the package layout
# (commit d8bf244, where `--loss wgan-gp` and `gp_weight` were config fields of their own):
#   python train.py --preset ring8-wgan-gp --g-hidden 16 --d-hidden 16 --batch-size 32 \
#       --steps-per-epoch 10 --epochs 1 --plot-every 100 --workdir RUN
OLD_RUN = dict(g_hidden=(16,), d_hidden=(16,), batch_size=32, steps_per_epoch=10, plot_every=100)


def test_a_run_written_before_the_layout_resumes_exactly_and_exports(tmp_path):
    from tfgan_app.export import archive

    old = tmp_path / "old"
    shutil.copytree(FIXTURE, old)
    saved = run_dir.load_config(old)  # gp_weight -> penalty_weight, wgan-gp -> wasserstein + gp
    assert (saved.loss, saved.penalty, saved.penalty_weight) == ("wasserstein", "gp", 1.0)
    config = cfg.preset("ring8-wgan-gp", epochs=2, **OLD_RUN)
    resumed = training.train(config, old, verbose=0)
    straight = training.train(config, tmp_path / "new", verbose=0)
    assert resumed.initial_epoch == 1
    for x, y in zip(all_weights(straight.gan), all_weights(resumed.gan)):
        np.testing.assert_array_equal(x, y)  # the same numbers as before the reorganisation
    result = archive.export_run(old, tmp_path / "exports", "generator")
    assert result.epochs == 2 and (result.export_dir / "saved_model.pb").is_file()


def _dropout_config(tmp_path, **kw):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "digits.npz", x=rng.integers(0, 256, (32, 28, 28, 1), dtype=np.uint8))
    fields = dict(dataset=f"npz:{tmp_path / 'digits.npz'}", latent_dim=8, batch_size=8, steps_per_epoch=2,
                  epochs=2, plot_every=100)
    return cfg.preset("dcgan-mnist", **{**fields, **kw})


def test_dropout_masks_resume_exactly(tmp_path):
    # W1's discriminator drops 30% of its units: a resumed run must draw the masks the
    # uninterrupted run draws, so the Dropout layers' seed state is in the checkpoint.
    straight = training.train(_dropout_config(tmp_path), tmp_path / "a", verbose=0)
    training.train(_dropout_config(tmp_path, epochs=1), tmp_path / "b", verbose=0)
    resumed = training.train(_dropout_config(tmp_path), tmp_path / "b", verbose=0)
    assert resumed.initial_epoch == 1
    assert "discriminator_random" in resumed.gan.checkpoint_items()
    for x, y in zip(all_weights(straight.gan), all_weights(resumed.gan)):
        np.testing.assert_array_equal(x, y)


def test_a_checkpoint_without_layer_random_state_still_restores(tmp_path):
    # Runs checkpointed before the layers' random state was: restored, seeds fresh.
    done = training.train(_dropout_config(tmp_path, epochs=1), tmp_path / "run", verbose=0)
    parts = {k: v for k, v in done.gan.checkpoint_items().items() if not k.endswith("_random")}
    old_style = tf.train.Checkpoint(**parts, epoch=tf.Variable(1, dtype=tf.int64))
    tf.train.CheckpointManager(old_style, str(tmp_path / "old" / run_dir.CHECKPOINT_DIR), 1).save(1)
    shutil.copy(tmp_path / "run" / run_dir.CONFIG_FILE, tmp_path / "old")
    shutil.copy(tmp_path / "run" / run_dir.MODEL_SPEC_FILE, tmp_path / "old")
    _, gan, epoch = run_dir.restore_run(tmp_path / "old")
    assert epoch == 1
    for x, y in zip(all_weights(done.gan), all_weights(gan)):
        np.testing.assert_array_equal(x, y)
