"""A refused run leaves nothing behind: every bad input ends with exit code 2, one line naming
the flag as it is spelled on the command line, no traceback, and the workdir as it was."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import train
from tfgan_app import config as cfg
from tfgan_app.data import prepare

PACKAGE = Path(__file__).resolve().parent.parent / "tfgan_app"


def snapshot(path: Path):
    """None if absent, else {relative path: bytes (None for directories)}."""
    if not path.exists():
        return None
    if path.is_file():
        return path.read_bytes()
    return {str(p.relative_to(path)): (None if p.is_dir() else p.read_bytes()) for p in sorted(path.rglob("*"))}


def refused(argv, workdir, capsys):
    """Runs train.main(argv + --workdir); returns its one error line, after the common checks."""
    before = snapshot(workdir)
    code = train.main(argv + ["--workdir", str(workdir), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert snapshot(workdir) == before  # absent, or byte-identical
    return err


def _png_that_is_not(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    return path


TINY_DCGAN = ["--preset", "dcgan", "--width", "4", "--batch-size", "4", "--steps", "1"]


@pytest.mark.parametrize("case", [
    "folder-missing", "npz-not-an-archive", "npz-truncated", "npz-no-x", "idx-empty-dir", "tfds-unprepared",
    "folder-corrupt-image", "tfrecords-unprepared", "tfrecords-image-size", "batch-size", "pack", "preset", "penalty-on-batchnorm", "eval-classifier",
])
def test_bad_inputs_leave_no_run_directory(case, tmp_path, capsys):
    work = tmp_path / "run"
    if case == "folder-missing":
        err = refused(TINY_DCGAN + ["--dataset", f"folder:{tmp_path / 'nowhere'}"], work, capsys)
        flag = "--dataset"
    elif case == "npz-not-an-archive":
        text = tmp_path / "passwd"
        text.write_text("root:x:0:0:root:/root:/bin/bash\n")
        err = refused(TINY_DCGAN + ["--dataset", f"npz:{text}"], work, capsys)
        assert "not an .npz archive of arrays" in err and "pickle" not in err.replace("Python objects", "")
        flag = "--dataset"
    elif case == "npz-truncated":
        good = tmp_path / "good.npz"
        np.savez(good, x=np.zeros((4, 8, 8), np.uint8))
        bad = tmp_path / "bad.npz"
        bad.write_bytes(good.read_bytes()[:100])
        err = refused(TINY_DCGAN + ["--dataset", f"npz:{bad}"], work, capsys)
        flag = "--dataset"
    elif case == "npz-no-x":
        f = tmp_path / "y.npz"
        np.savez(f, images=np.zeros((4, 8, 8), np.uint8))
        err = refused(TINY_DCGAN + ["--dataset", f"npz:{f}"], work, capsys)
        flag = "--dataset"
    elif case == "idx-empty-dir":
        (tmp_path / "idx").mkdir()
        err = refused(TINY_DCGAN + ["--dataset", f"mnist-idx:{tmp_path / 'idx'}"], work, capsys)
        flag = "--dataset"
    elif case == "tfds-unprepared":
        err = refused(TINY_DCGAN + ["--dataset", "tfds:mnist", "--data-dir", str(tmp_path / "tfds")], work, capsys)
        flag = "--dataset"
    elif case == "folder-corrupt-image":
        folder = _png_that_is_not(tmp_path / "images")
        err = refused(TINY_DCGAN + ["--dataset", f"folder:{folder}", "--image-size", "28"], work, capsys)
        flag = "--dataset"
    elif case == "tfrecords-unprepared":
        (tmp_path / "rec").mkdir()
        err = refused(TINY_DCGAN + ["--dataset", f"tfrecords:{tmp_path / 'rec'}"], work, capsys)
        assert "python -m tfgan_app.data.prepare" in err
        flag = "--dataset"
    elif case == "tfrecords-image-size":
        np.savez(tmp_path / "x.npz", x=np.zeros((8, 28, 28), np.uint8))
        prepare.prepare(f"npz:{tmp_path / 'x.npz'}", tmp_path / "rec", shards=2)
        err = refused(TINY_DCGAN + ["--dataset", f"tfrecords:{tmp_path / 'rec'}", "--image-size", "32"], work, capsys)
        flag = "--image-size"
    elif case == "batch-size":
        err = refused(["--batch-size", "0"], work, capsys)
        flag = "--batch-size"
    elif case == "pack":
        err = refused(["--pack", "3", "--batch-size", "32"], work, capsys)
        flag = "--pack"
    elif case == "preset":
        err = refused(["--preset", "nope", "--steps", "5"], work, capsys)
        flag = "--preset"
    elif case == "penalty-on-batchnorm":
        x = tmp_path / "x.npz"
        np.savez(x, x=np.zeros((8, 28, 28), np.uint8))
        err = refused(TINY_DCGAN + ["--dataset", f"npz:{x}", "--penalty", "gp"], work, capsys)
        flag = "--penalty"
    elif case == "eval-classifier":
        x = tmp_path / "x.npz"
        np.savez(x, x=np.zeros((8, 28, 28), np.uint8))
        err = refused(TINY_DCGAN + ["--dataset", f"npz:{x}", "--eval-every", "1",
                                    "--eval-classifier", str(tmp_path / "none.keras")], work, capsys)
        flag = "--eval-classifier"
    assert err.startswith(f"train.py: error: {flag}"), err


def test_a_workdir_that_is_a_file_and_a_refused_resume_are_left_as_they_were(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("mine")
    assert "--workdir" in refused(["--steps", "1"], f, capsys)
    work = tmp_path / "run"
    assert train.main(["--preset", "sine", "--steps", "2", "--workdir", str(work), "--quiet"]) == 0
    capsys.readouterr()
    err = refused(["--preset", "sine", "--steps", "2", "--loss", "hinge"], work, capsys)
    assert err.startswith(f"train.py: error: --workdir {work}: holds a run with loss='minimax'")


def test_the_corrected_command_runs_after_a_refusal(tmp_path, capsys):
    # Issue #28: a first command with a bad --dataset used to leave config.json behind, and
    # the corrected command was then refused as a conflicting resume.
    work = tmp_path / "run"
    refused(TINY_DCGAN + ["--dataset", f"folder:{tmp_path / 'nowhere'}"], work, capsys)
    x = tmp_path / "x.npz"
    np.savez(x, x=np.zeros((8, 28, 28), np.uint8))
    assert train.main(TINY_DCGAN + ["--dataset", f"npz:{x}", "--workdir", str(work), "--quiet"]) == 0
    assert (work / "checkpoints" / "checkpoint").exists()


def _bad_value(field: dataclasses.Field):
    kind = type(field.default)
    if kind is bool:
        return None
    if kind is str:
        return "not-a-value"
    if kind is tuple:
        return (0,)
    return -7 if kind is int else float("nan")


def test_every_config_fields_refusal_names_its_flag():
    """Every field given a bad value: a refusal names that field's flag, dashes not underscores."""
    named = []
    for field in dataclasses.fields(cfg.Config):
        bad = _bad_value(field)
        if bad is None:
            continue
        try:
            cfg.preset("ring8", **{field.name: bad})
        except cfg.ConfigError as e:
            flag = "--" + field.name.replace("_", "-")
            assert str(e).startswith(f"{flag}:") or flag in str(e), (field.name, str(e))
            named.append(field.name)
    assert len(named) >= 30, named  # most fields check their values


def test_no_message_spells_a_flag_with_underscores():
    """Flags are --image-size, never --image_size, in every message the package writes."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for flag in re.findall(r"--[a-z0-9]+_[a-z0-9_]+", line):
                if not flag.startswith(("--xla_", "--tf_xla")):  # TensorFlow's own flags
                    found.append(f"{path.name}:{n}: {flag}")
    assert found == []
