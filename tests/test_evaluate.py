"""tfgan_app.evaluate: reports of runs and exports, and the evaluation during training.

Tiny runs only (a few steps): these tests check what is computed and where it goes,
not how good the samples are (benchmarks/quality_*.py measure that).
"""

import csv
import dataclasses
import json
import math

import numpy as np
import pytest
import tensorflow as tf

from tfgan_app.metrics import classifier as clf
from tfgan_app.training import run_dir
from tfgan_app.metrics import figures
from tfgan_app.training import evaluation
from tfgan_app.metrics import reference
from tfgan_app import config as cfg
from tfgan_app import evaluate
from tfgan_app.export import archive as exporting
from tfgan_app.training import train as training


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path / "cache"))


def run_cli(argv, capsys):
    code = evaluate.main(argv)
    out, err = capsys.readouterr()
    return code, out, err.strip()


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """ring8, 3 epochs of 10 steps, evaluated every epoch."""
    workdir = tmp_path_factory.mktemp("toy") / "run"
    config = cfg.preset("ring8", batch_size=64, steps_per_epoch=10, epochs=3, eval_every=1, eval_samples=500)
    training.train(config, workdir, verbose=0)
    return workdir


def test_training_logs_eval_figures_every_epoch_and_keeps_the_best_generator(toy_run):
    with open(toy_run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    for row in rows:  # one column per figure, filled in every row
        assert {"eval_modes", "eval_high_quality", "eval_reverse_kl", "eval_epoch"} <= set(row)
        assert row["eval_epoch"] == row["epoch"] + ".0"  # eval_every=1: measured every epoch
    best = json.loads((toy_run / "best" / "best.json").read_text())
    assert best["metric"] == "modes" and 1 <= best["epoch"] <= 3
    scores = [figures.score({"modes": float(r["eval_modes"]), "reverse_kl": float(r["eval_reverse_kl"])}, "modes")
              for r in rows]
    assert best["epoch"] == 1 + max(range(3), key=lambda i: scores[i])  # the first of the best
    assert (toy_run / "best" / f"generator-{best['epoch']}.index").is_file()


def test_evaluate_cli_on_a_toy_run_prints_and_writes_the_toy_figures(toy_run, capsys):
    code, out, err = run_cli([str(toy_run), "--samples", "400"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "run" and report["problem"] == "ring8" and report["epoch"] == 3
    assert set(report["metrics"]) == {"modes", "num_modes", "high_quality", "reverse_kl"}
    assert report["metrics"]["num_modes"] == 8 and report["samples"] == 400
    assert json.loads((toy_run / "evaluation.json").read_text()) == report


def test_best_weights_reproduce_the_figures_logged_for_them(toy_run, capsys):
    best = json.loads((toy_run / "best" / "best.json").read_text())
    code, out, err = run_cli([str(toy_run), "--weights", "best", "--no-write"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["epoch"] == best["epoch"] and report["weights"] == "best"
    # The kept weights, on the callback's own fixed noise, give exactly the figures logged.
    config, gan, _ = run_dir.restore_run(toy_run)
    assert evaluation.restore_best(toy_run, gan) == best["epoch"]
    z = gan.sample_noise(config.eval_samples, tf.constant([config.seed, -4], tf.int64))
    again = figures.toy_quality("ring8", gan.generate(z).numpy())
    assert {k: again[k] for k in best["figures"]} == pytest.approx(best["figures"], rel=1e-6)


def test_with_a_weight_average_the_best_generator_kept_is_the_average(tmp_path):
    """One epoch: the best is the latest checkpoint, whose average and generator differ."""
    config = cfg.preset("ring8", batch_size=64, steps_per_epoch=10, epochs=1, eval_every=1, eval_samples=200,
                        g_ema=0.5)
    training.train(config, tmp_path / "run", verbose=0)
    _, latest, _ = run_dir.restore_run(tmp_path / "run")
    _, best, _ = run_dir.restore_run(tmp_path / "run")
    for w in best.generator_ema.weights:  # so the restore below is what sets them
        w.assign(np.zeros(w.shape, w.dtype))
    assert evaluation.restore_best(tmp_path / "run", best) == 1
    average, trained = latest.generator_ema.get_weights(), latest.generator.get_weights()
    assert max(np.abs(a - t).max() for a, t in zip(average, trained)) > 1e-3
    for kept, a in zip(best.generator_ema.get_weights(), average):
        np.testing.assert_array_equal(kept, a)


def test_evaluate_cli_on_a_toy_export_uses_its_signatures(toy_run, tmp_path, capsys):
    result = exporting.export_run(toy_run, tmp_path / "exports", "ring")
    code, out, err = run_cli([str(tmp_path / "exports" / "ring")], capsys)  # BASE/NAME: latest version
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "export" and report["source"] == str(result.export_dir)
    assert report["problem"] == "ring8" and report["samples"] == 500  # the run's eval_samples
    assert report["metrics"]["num_modes"] == 8
    # Without export_info.json ring8 and grid25 look alike: the CLI asks.
    (result.export_dir / exporting.EXTRA_DIR / exporting.INFO_FILE).unlink()
    code, out, err = run_cli([str(result.export_dir)], capsys)
    assert code == 2 and "--problem: " in err and "pass --problem ring8 or --problem grid25" in err
    code, out, err = run_cli([str(result.export_dir), "--problem", "grid25", "--samples", "100"], capsys)
    assert code == 0 and json.loads(out)["metrics"]["num_modes"] == 25


def test_truncation_sweep_of_a_run_and_its_export_draw_the_same_samples(toy_run, tmp_path, capsys):
    run = evaluate.open_source(toy_run)
    narrow, wide = run.draw_truncated(300, 0, 0.05), run.draw_truncated(300, 0, 4.0)
    assert narrow.shape == wide.shape == (300, 2)
    assert narrow.std(axis=0).sum() < 0.5 * wide.std(axis=0).sum()  # truncation trades diversity away
    result = exporting.export_run(toy_run, tmp_path / "exports", "ring")
    served = evaluate.open_source(result.export_dir)
    np.testing.assert_allclose(served.draw_truncated(300, 0, 0.05), narrow, atol=1e-5)  # same seeds, same z
    code, out, err = run_cli([str(toy_run), "--truncation", "0.05,4", "--no-write", "--plots", str(tmp_path / "p")],
                             capsys)
    assert code == 0, err
    sweep = json.loads(out)["truncation"]
    assert [r["truncation"] for r in sweep["rows"]] == [0.05, 4.0]
    assert sweep["samples_per_threshold"] == 500
    assert (tmp_path / "p" / "truncation_tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit) as exit_:  # argparse: one line, exit 2
        evaluate.main([str(toy_run), "--truncation", "0.5,0"])
    assert exit_.value.code == 2
    assert "argument --truncation: thresholds must be > 0, got '0.5,0'" in capsys.readouterr().err


def test_cli_errors_are_one_line(tmp_path, capsys):
    code, _, err = run_cli([str(tmp_path / "missing")], capsys)
    assert code == 2 and err.endswith("does not exist; expected a run directory or an export directory")
    code, _, err = run_cli([str(tmp_path)], capsys)
    assert code == 2 and "neither a run directory (config.json) nor an export" in err
    assert len(err.splitlines()) == 1


def test_eval_metric_must_be_a_figure_of_the_problem(tmp_path):
    config = cfg.preset("ring8", steps_per_epoch=1, epochs=1, eval_every=1, eval_metric="fcd")
    with pytest.raises(cfg.ConfigError, match="--eval-metric: 'fcd' is not a figure of --problem ring8; "
                                              "it has: modes, high_quality, reverse_kl"):
        training.train(config, tmp_path / "run", verbose=0)
    with pytest.raises(cfg.ConfigError, match="--eval-metric: 'best' is not one of"):
        cfg.preset("ring8", eval_metric="best")
    with pytest.raises(cfg.ConfigError, match="--eval-every: expected an integer >= 0"):
        cfg.preset("ring8", eval_every=-1)


def test_score_prefers_more_modes_then_lower_kl_and_respects_direction():
    a = {"modes": 8, "reverse_kl": 0.3}
    assert figures.score(a, "modes") > figures.score({"modes": 7, "reverse_kl": 0.0}, "modes")
    assert figures.score({"modes": 8, "reverse_kl": 0.1}, "modes") > figures.score(a, "modes")
    assert figures.score({"fcd": 1.0}, "fcd") > figures.score({"fcd": 2.0}, "fcd")
    assert figures.score({"fcd": 1.0}, "fcd") > figures.score({"fcd": math.nan}, "fcd")
    assert figures.score({"is": 9.0}, "is") > figures.score({"is": 2.0}, "is")


# --- images, on synthetic data (no MNIST needed) ---------------------------------------------


@pytest.fixture(scope="module")
def image_setup(tmp_path_factory):
    """Two classes of 28x28 images (a bright left or right half), a classifier of them, a tiny DCGAN run."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    x = rng.integers(0, 60, (120, 28, 28), dtype=np.uint8)
    x[y == 0, :, :14] += 180
    x[y == 1, :, 14:] += 180
    np.savez(root / "halves.npz", x=x, y=y)
    spec = f"npz:{root / 'halves.npz'}"
    record = clf.train_classifier(spec, root / "halves.keras", epochs=2, held_out=20)
    config = cfg.preset("dcgan", dataset=spec, width=4, latent_dim=8, batch_size=16, steps_per_epoch=2,
                        epochs=2, eval_every=2, eval_samples=64, eval_classifier=str(root / "halves.keras"))
    return root, spec, record, config


def test_classifier_on_synthetic_classes_is_accurate(image_setup):
    assert image_setup[2]["held_out_accuracy"] >= 0.9


@pytest.fixture(scope="module")
def image_run(image_setup, tmp_path_factory):
    """The tiny DCGAN run of image_setup, trained with its own reference cache."""
    root = tmp_path_factory.mktemp("image_run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFGAN_APP_CACHE", str(root / "cache"))
        training.train(image_setup[3], root / "run", verbose=0)
    return root / "run", root / "cache"


def test_image_run_logs_image_figures_and_the_report_has_them_all(image_setup, image_run, monkeypatch, capsys):
    workdir, cache = image_run
    monkeypatch.setenv("TFGAN_APP_CACHE", str(cache))
    with open(workdir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["eval_epoch"] for r in rows] == ["1.0", "2.0"]  # first epoch of the invocation, then every 2
    assert {"eval_fcd", "eval_kid", "eval_is", "eval_precision", "eval_recall", "eval_modes", "eval_mode_kl"} <= set(rows[0])
    assert json.loads((workdir / "best" / "best.json").read_text())["metric"] == "fcd"
    cached = list((cache / "reference").glob("*.npz"))
    assert len(cached) == 1  # reference statistics computed once ...

    code, out, err = run_cli([str(workdir), "--samples", "48"], capsys)  # classifier from the run's config
    assert code == 0, err
    report = json.loads(out)
    m = report["metrics"]
    assert set(m) == {"fcd", "kid", "kid_std", "is", "is_std", "precision", "recall", "modes", "num_modes", "mode_kl"}
    assert m["num_modes"] == 2 and 1.0 <= m["is"] <= 2.0 and 0 <= m["precision"] <= 1 and m["fcd"] >= 0
    assert report["reference"]["examples"] == 120 and report["reference"]["modes"] == 2
    assert report["reference"]["cache"] == str(cached[0])  # ... and reused
    assert report["classifier"]["held_out_accuracy"] == image_setup[2]["held_out_accuracy"]


def test_swd_option_adds_one_figure_per_pyramid_level(image_setup, image_run, monkeypatch):
    workdir, cache = image_run
    monkeypatch.setenv("TFGAN_APP_CACHE", str(cache))
    report = evaluate.evaluate(workdir, samples=48, swd=True, write=False)
    bands = report["metrics"]["swd"]
    assert len(bands) == 3 and all(b > 0 for b in bands)  # 28, 14 and 7 px; an untrained G is not the data
    assert "swd" not in evaluate.evaluate(workdir, samples=48, write=False)["metrics"]  # opt-in: it is slow


def test_image_figures_of_real_images_beat_those_of_noise(image_setup):
    root, spec, _, _ = image_setup
    featurizer = clf.load_classifier(root / "halves.keras")
    ref = reference.reference_statistics(spec, featurizer, (28, 28, 1))
    with np.load(root / "halves.npz") as f:
        real = f["x"][..., None].astype(np.float32) / 127.5 - 1.0
    noise = np.random.default_rng(1).uniform(-1, 1, real.shape).astype(np.float32)
    good = reference.image_metrics(real, featurizer, ref, kid_subsets=5)
    bad = reference.image_metrics(noise, featurizer, ref, kid_subsets=5)
    assert good["fcd"] == pytest.approx(0.0, abs=1e-6)  # the reference set itself
    assert (good["precision"], good["recall"]) == (1.0, 1.0)
    assert good["modes"] == 2 and good["mode_kl"] < 0.01
    assert bad["fcd"] > 1.0 and bad["kid"] > good["kid"]


def test_image_evaluation_without_a_classifier_says_how_to_train_one(image_setup, image_run, tmp_path, capsys):
    config = image_setup[3]
    missing = tmp_path / "none.keras"
    with pytest.raises(clf.ClassifierError, match=r"--eval-classifier .*none.keras: no such file; .*"
                                                   r"python -m tfgan_app.metrics.classifier --dataset mnist-idx:DIR --out"):
        training.train(dataclasses.replace(config, eval_classifier=str(missing)), tmp_path / "run", verbose=0)
    code, _, err = run_cli([str(image_run[0]), "--classifier", str(missing)], capsys)
    assert code == 2 and "python -m tfgan_app.metrics.classifier" in err and len(err.splitlines()) == 1
    code, _, err = run_cli([str(image_run[0]), "--classifier", str(missing),
                            "--inception-weights", str(tmp_path / "inception.h5")], capsys)
    assert code == 2 and "cannot be downloaded here (no network)" in err
