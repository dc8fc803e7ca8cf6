"""Monitors: divergence guard, metrics log, and a run killed with SIGKILL that resumes exactly."""

import signal
import subprocess
import sys
import time

import numpy as np

import train
from conftest import REPO, latest_epoch
from tfgan_app.training import callbacks as cb
from tfgan_app.training import run_dir


class _Model:
    stop_training = False


def test_divergence_guard_stops_on_nan_and_inf():
    guard = cb.DivergenceGuard()
    guard.set_model(_Model())
    guard.on_train_batch_end(0, {"d_loss": 0.5, "g_loss": 1.0})
    assert guard.diverged is None and not guard.model.stop_training
    guard.on_train_batch_end(4, {"d_loss": float("nan"), "g_loss": 1.0})
    assert guard.diverged == "d_loss became nan at batch 5" and guard.model.stop_training
    guard2 = cb.DivergenceGuard()
    guard2.set_model(_Model())
    guard2.on_epoch_end(2, {"g_loss": float("inf")})
    assert guard2.diverged == "g_loss became inf in epoch 3"


def test_diverging_run_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    # SGD with lr 1e30 overflows within a few steps.
    bad = tmp_path / "bad"
    code = train.main(["--preset", "ring8", "--g-hidden", "8", "--d-hidden", "8", "--optimizer", "sgd",
                       "--d-lr", "1e30", "--g-lr", "1e30", "--steps-per-epoch", "5", "--epochs", "2",
                       "--workdir", str(bad), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "train.py: training diverged:" in err and ("became nan" in err or "became inf" in err)
    assert not (bad / "checkpoints" / "ckpt-1.index").exists()  # no checkpoint of a NaN state


def _weights(workdir):
    _, gan, epoch = run_dir.restore_run(workdir)
    return epoch, [w.numpy() for w in gan.generator.weights + gan.discriminator.weights]


def test_sigkill_then_rerun_reaches_the_uninterrupted_weights(tmp_path):
    args = [sys.executable, "train.py", "--preset", "ring8-wgan-gp", "--g-hidden", "32,32",
            "--d-hidden", "32,32", "--batch-size", "64", "--steps-per-epoch", "40",
            "--epochs", "8", "--quiet"]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    proc = subprocess.Popen(args + ["--workdir", str(killed)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while latest_epoch(killed) < 3:  # mid-run, once the checkpoint state names epoch 3
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    epoch_at_kill, _ = _weights(killed)
    assert 3 <= epoch_at_kill < 8
    for workdir in (killed, straight):  # the same command again, and an uninterrupted run
        out = subprocess.run(args + ["--workdir", str(workdir)], cwd=REPO, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
    epoch_a, a = _weights(killed)
    epoch_b, b = _weights(straight)
    assert epoch_a == epoch_b == 8
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    rows = (killed / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, 9))


def test_metrics_log_drops_rows_past_the_restored_epoch(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,time,d_loss\n1,0,0.5\n2,0,0.4\n3,0,0.3\n")
    cb.MetricsLog(path, initial_epoch=2)
    assert path.read_text().splitlines() == ["epoch,time,d_loss", "1,0,0.5", "2,0,0.4"]
