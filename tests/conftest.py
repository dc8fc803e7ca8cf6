"""Shared test setup: quiet TF, CPU only, and where the shared MNIST lives."""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# The MNIST test split CI provides beside the repository (a user's clone has none).
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist"


def latest_epoch(workdir) -> int:
    """The epoch a run directory's checkpoint state names (0: none yet).  TensorFlow writes ckpt-N's
    files first and only then swaps the `checkpoint` state file, so a test that kills a run "after
    epoch N" waits for this, not for ckpt-N.index: a kill between the two resumes from N - 1, which
    is right but is not what such a test means to check."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(Path(workdir) / "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else 0


def stop_after(epochs: int):
    """A Keras callback that interrupts fit after `epochs` epochs (their checkpoint written): a run
    stopped as a kill between epochs stops it, in-process.  (Keras is imported here, not at the
    top: this file sets TensorFlow's environment before anything imports it.)"""
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= epochs:
                self.model.stop_training = True

    return StopAfter()


# A child process that trains a config (as JSON) in a run directory and SIGKILLs itself after the
# first batch of epoch 2, once epoch 1's checkpoint is written: a kill mid-epoch, at a fixed point.
_KILLED_CHILD = """
import json, os, signal, sys
import keras
from tfgan_app import config as cfg
from tfgan_app.training import train as training

class KillInEpochTwo(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

training.train(cfg.Config.from_dict(json.loads(sys.argv[1])), sys.argv[2], verbose=0,
               extra_callbacks=[KillInEpochTwo()])
"""


def killed_and_resumed(config, workdir, timeout: int = 300):
    """Trains `config` in `workdir` in a process that SIGKILL stops in its second epoch, then runs the
    user's resume command, `python train.py --workdir W`, to the end.  The run's (config, game, epoch)."""
    import signal
    import subprocess

    from tfgan_app.training import run_dir

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, config.to_json(), str(workdir)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=timeout)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert not (Path(workdir) / "checkpoints" / "ckpt-2.index").exists()  # killed before epoch 2's checkpoint
    again = subprocess.run([sys.executable, "train.py", "--workdir", str(workdir), "--quiet"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=timeout)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed at epoch 1)" in again.stdout
    restored = run_dir.restore_run(workdir)
    assert restored[0] == config.validate()  # the bare resume kept the run's every field
    return restored
