"""train.py: flags, presets, and one clear line for every bad input."""

import json
import subprocess
import sys

import pytest

import train
from conftest import REPO
from tfgan_app import config as cfg


def run_main(argv, capsys):
    code = train.main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("argv,needle", [
    (["--preset", "ring9"], "--preset: 'ring9' is not one of:"),
    (["--loss", "hinje"], "--loss: 'hinje' is not one of: minimax, non-saturating, wasserstein, hinge, least-squares, wgan-clip, wgan-gp"),
    (["--noise", "gamma"], "--noise: 'gamma' is not one of"),
    (["--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
    (["--n-critic", "-1"], "--n-critic: expected a positive integer, got -1"),
    (["--g-steps", "0"], "--g-steps: expected a positive integer, got 0"),
    (["--preset", "dcgan-mnist", "--g-steps", "2"], "--update: simultaneous updates take one critic step and one generator step"),
    (["--steps", "0"], "--steps: expected a positive integer, got 0"),
    (["--g-lr", "-0.1"], "--g-lr: expected a positive number, got -0.1"),
    (["--g-ema", "1"], "--g-ema: expected a number in [0, 1), got 1.0"),
    (["--r1-weight", "-1"], "--r1-weight: expected a number >= 0, got -1.0"),
    (["--g-hidden", "64,x"], "--g-hidden: expected comma-separated integers"),
    (["--epochs", "two"], "--epochs: invalid int value: 'two'"),
    (["--latent-dim", "3", "--preset", "gaussian1d"], "--noise: stratified noise is one-dimensional"),
    (["--no-such-flag", "1"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_flags_give_one_line_naming_the_flag(argv, needle, capsys):
    with pytest.raises(SystemExit) if needle.startswith(("--g-hidden", "--epochs", "unrec")) else _no_raise():
        code, err = run_main(argv, capsys)
        assert code == 2
        assert needle in err
        assert len(err.splitlines()) == 1
    if needle.startswith(("--g-hidden", "--epochs", "unrec")):
        err = capsys.readouterr().err.strip()
        assert needle in err and len(err.splitlines()) == 1


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_workdir_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "run"
    f.write_text("not a directory")
    code, err = run_main(["--workdir", str(f), "--steps", "1"], capsys)
    assert code == 2
    assert err == f"train.py: error: --workdir {f}: is a file; expected a directory (new or holding a run)"


def test_flags_override_preset_fields_and_steps_sets_epochs():
    config, workdir, fresh, compare, _ = train.parse(
        ["--preset", "gaussian1d", "--g-lr", "0.5", "--steps", "250", "--g-hidden", "4,4"])
    assert config.g_lr == 0.5 and config.d_lr == 0.1  # the preset's other fields stay
    assert config.g_hidden == (4, 4)
    # The preset has 100 steps/epoch: 250 steps -> 3 epochs of ceil(250 / 3) = 84.
    assert (config.epochs, config.steps_per_epoch) == (3, 84)
    assert workdir.name == "gaussian1d" and compare is None and not fresh


def test_every_preset_validates():
    for name in cfg.PRESETS:
        assert cfg.preset(name).problem in cfg.TOY_PROBLEMS + cfg.DATA_PROBLEMS


def test_cli_end_to_end_writes_the_run_directory(tmp_path):
    # A real subprocess: exit code, no traceback, and what a run directory holds.
    work = tmp_path / "run"
    args = [sys.executable, "train.py", "--preset", "sine", "--steps", "40", "--workdir", str(work), "--quiet"]
    out = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads((work / "config.json").read_text())["loss"] == "minimax"
    assert (work / "checkpoints" / "checkpoint").exists()
    header = (work / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"d_real", "d_objective", "g_loss"} <= set(header)
    for png in ("samples.png", "losses.png"):
        assert (work / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A conflicting flag on the existing run: refused, one line, exit 2.
    bad = subprocess.run(args + ["--loss", "non-saturating"], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2
    assert "holds a run with loss='minimax'" in bad.stderr and "Traceback" not in bad.stderr


def test_old_loss_and_flag_names_keep_working():
    config, *_ = train.parse(["--loss", "wgan-gp", "--gp-weight", "3"])
    assert (config.loss, config.penalty, config.penalty_weight) == ("wasserstein", "gp", 3.0)
    config, *_ = train.parse(["--loss", "wgan-gp", "--penalty", "lp"])  # an explicit penalty wins
    assert (config.loss, config.penalty) == ("wasserstein", "lp")


def test_tensorflow_start_up_chatter_is_hidden_unless_asked_for(tmp_path):
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    args = [sys.executable, "train.py", "--preset", "sine", "--steps", "2", "--quiet"]
    quiet = subprocess.run(args + ["--workdir", str(tmp_path / "a")], cwd=REPO, capture_output=True,
                           text=True, timeout=120, env=env)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert quiet.stderr.strip() == ""  # no absl/CUDA/oneDNN lines
    loud = subprocess.run(args + ["--workdir", str(tmp_path / "b"), "--tf-logs"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=env)
    assert loud.returncode == 0 and loud.stderr.strip() != ""  # what TensorFlow prints on this machine


def test_steps_keep_the_share_of_a_linear_decay():
    # cyclegan-digits2mnist: 20 epochs, the last 10 decaying; --steps 5000 at 1,000 a epoch -> 5 epochs, 3 decaying.
    config, *_ = train.parse(["--preset", "cyclegan-digits2mnist", "--steps", "5000"])
    assert (config.epochs, config.linear_decay_epochs) == (5, 3)
    config, *_ = train.parse(["--preset", "cyclegan-digits2mnist", "--steps", "5000", "--linear-decay-epochs", "1"])
    assert config.linear_decay_epochs == 1
