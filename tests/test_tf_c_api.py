"""Exports run through the TF C API loader (tag `serve`, XLA off), as TF Serving loads them.

Every `run_signature` call starts a fresh Python process that never imports
TensorFlow's Python runtime, and its outputs are compared with the Keras models
called directly in this process.
"""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import make_tiny_generator_archive, reference_z  # noqa: E402

from tfgan_app.export.c_api import TFCApiError, load_arrays, run_signature, signature_def_map

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """The tiny contract export plus two endpoints only these tests need."""
    archive, models = make_tiny_generator_archive()
    generator = models.generator

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                  tf.TensorSpec([None], tf.float64, name="x64")],
                 autograph=False)
    def types_fn(text, x64):
        return {"length": tf.strings.length(text), "upper": tf.strings.upper(text),
                "positive": x64 > 0, "doubled": x64 * 2.0}

    @tf.function(input_signature=[tf.TensorSpec([None, models.latent_dim], tf.float32,
                                                name="z")],
                 autograph=False, jit_compile=True)
    def xla_fn(z):
        return {"samples": generator(z)}

    archive.add_endpoint("types", types_fn)
    archive.add_endpoint("xla", xla_fn)
    export_dir = tmp_path_factory.mktemp("c_api") / "generator" / "1"
    archive.write_out(str(export_dir), verbose=False)
    return export_dir, models


def test_serving_default_matches_keras_for_two_batch_sizes(export):
    export_dir, models = export
    rng = np.random.default_rng(0)
    for batch in (3, 5):
        z = rng.normal(size=(batch, models.latent_dim)).astype(np.float32)
        out = run_signature(export_dir, "serving_default", {"z": z})
        assert list(out) == ["samples"]
        assert out["samples"].dtype == np.float32
        np.testing.assert_allclose(out["samples"], models.generator(z).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_generate_returns_the_seeded_z_and_its_samples(export):
    export_dir, models = export
    seeds = np.array([0, 7, 123], dtype=np.int64)
    out = run_signature(export_dir, "generate", {"seeds": seeds})
    assert sorted(out) == ["samples", "z"]
    np.testing.assert_allclose(out["z"], reference_z(seeds), rtol=1e-6)
    np.testing.assert_allclose(out["samples"], models.generator(out["z"]).numpy(),
                               rtol=1e-5, atol=1e-6)
    assert out["samples"].shape == (3, *models.image_shape)


def test_conditional_with_two_inputs_matches_keras(export):
    export_dir, models = export
    z = np.random.default_rng(1).normal(size=(4, models.latent_dim)).astype(np.float32)
    labels = np.array([0, 1, 2, 1], dtype=np.int32)
    out = run_signature(export_dir, "conditional", {"z": z, "labels": labels})
    expected = models.conditional_generator([z, labels]).numpy()
    np.testing.assert_allclose(out["samples"], expected, rtol=1e-5, atol=1e-6)


def test_generate_png_returns_png_bytes_of_the_samples(export):
    from PIL import Image

    export_dir, models = export
    seeds = np.array([3, 4], dtype=np.int64)
    out = run_signature(export_dir, "generate_png", {"seeds": seeds})
    pngs = out["images_bytes"]
    assert pngs.dtype == object and pngs.shape == (2,)
    samples = models.generator(reference_z(seeds)).numpy()  # (B, H, W, C) in [-1, 1]
    for png, sample in zip(pngs, samples):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = np.asarray(Image.open(io.BytesIO(png)))  # (H, W) for one channel
        expected = np.round((sample[..., 0] + 1.0) * 127.5)
        assert pixels.shape == models.image_shape[:2]
        np.testing.assert_allclose(pixels, expected, atol=1)


def test_string_float64_and_bool_tensors_round_trip(export):
    export_dir, _ = export
    text = np.array([b"ab", b"", b"x\x00y" * 20], dtype=object)  # 60 bytes: heap TString
    x64 = np.array([1.5, -2.0, 0.0], dtype=np.float64)
    out = run_signature(export_dir, "types", {"text": text, "x64": x64})
    np.testing.assert_array_equal(out["length"], np.array([2, 0, 60], dtype=np.int32))
    assert out["length"].dtype == np.int32
    assert list(out["upper"]) == [b"AB", b"", b"X\x00Y" * 20]
    np.testing.assert_array_equal(out["positive"], [True, False, False])
    assert out["positive"].dtype == np.bool_
    np.testing.assert_array_equal(out["doubled"], x64 * 2)
    assert out["doubled"].dtype == np.float64


def test_failed_graph_assert_is_invalid_argument(export):
    export_dir, models = export
    z = np.zeros((2, models.latent_dim), np.float32)
    with pytest.raises(TFCApiError) as err:
        run_signature(export_dir, "conditional",
                      {"z": z, "labels": np.array([0, 9], np.int32)})
    assert err.value.code == 3
    assert "labels must be < 3" in err.value.message


@pytest.mark.parametrize("inputs, fragment", [
    ({"z": np.zeros((1, 4), np.float32)}, "missing input(s) 'labels'"),
    ({"z": np.zeros((1, 4), np.float64), "labels": np.zeros(1, np.int32)},
     "input 'z' must be float32, got float64"),
    ({"z": np.zeros((1, 5), np.float32), "labels": np.zeros(1, np.int32)},
     "input 'z' must have shape [None, 4]"),
])
def test_bad_inputs_are_invalid_argument_naming_the_input(export, inputs, fragment):
    export_dir, _ = export
    with pytest.raises(TFCApiError) as err:
        run_signature(export_dir, "conditional", inputs)
    assert err.value.code == 3
    assert fragment in err.value.message


def test_unknown_signature_lists_the_available_ones(export):
    export_dir, _ = export
    with pytest.raises(TFCApiError) as err:
        run_signature(export_dir, "sample", {"z": np.zeros((1, 4), np.float32)})
    assert err.value.code == 9
    assert "generate_png" in err.value.message and "serving_default" in err.value.message


def test_missing_export_dir_is_not_found(tmp_path):
    with pytest.raises(TFCApiError) as err:
        run_signature(tmp_path / "nope" / "1", "serving_default",
                      {"z": np.zeros((1, 4), np.float32)})
    assert err.value.code == 5
    assert "saved_model.pb" in err.value.message


def test_xla_is_disabled_like_tf_serving(export):
    """A jit_compile endpoint fails under TF Serving's DisableXlaCompilation."""
    export_dir, models = export
    z = np.zeros((1, models.latent_dim), np.float32)
    with pytest.raises(TFCApiError) as err:
        run_signature(export_dir, "xla", {"z": z})
    assert "XLA compilation disabled" in err.value.message


def test_hand_rolled_tf_saved_model_save_of_keras3_fails_in_the_loader(export, tmp_path):
    """The documented trap (TF_TRAPS.md): loads in TF2 Python, fails in TF Serving's loader."""
    _, models = export
    raw_dir = tmp_path / "raw"
    tf.saved_model.save(models.generator, str(raw_dir))
    [key] = signature_def_map(raw_dir)["serving_default"]["inputs"]
    z = np.zeros((1, models.latent_dim), np.float32)
    with pytest.raises(TFCApiError) as err:
        run_signature(raw_dir, "serving_default", {key: z})
    assert err.value.code == 9
    assert "Could not find variable" in err.value.message


def test_signature_def_map_reads_names_dtypes_and_shapes(export):
    export_dir, _ = export
    sigs = signature_def_map(export_dir)
    assert {"serving_default", "generate", "generate_png", "conditional",
            "generate_conditional"} <= set(sigs)
    cond = sigs["conditional"]
    assert cond["inputs"]["z"]["dtype"] == "float32"
    assert cond["inputs"]["z"]["shape"] == [None, 4]
    assert cond["inputs"]["labels"]["dtype"] == "int32"
    assert cond["inputs"]["labels"]["shape"] == [None]
    assert sigs["generate_png"]["outputs"]["images_bytes"]["dtype"] == "string"
    assert sigs["generate"]["inputs"]["seeds"]["dtype"] == "int64"
    assert sorted(sigs["generate_conditional"]["outputs"]) == ["samples", "z"]


def test_child_never_imports_the_tensorflow_python_runtime(export):
    export_dir, _ = export
    code = (
        "import sys, numpy as np\n"
        "from tfgan_app.tf_c_api import CApiSession, xla_compilation_disabled\n"
        f"s = CApiSession({str(export_dir)!r})\n"
        "out = s.run('generate', {'seeds': np.arange(2, dtype=np.int64)})\n"
        "print(sorted(out), xla_compilation_disabled(),\n"
        "      sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['samples', 'z'] True []"


def test_cli_prints_outputs_and_saves_npz(export, tmp_path):
    export_dir, models = export
    z = np.random.default_rng(2).normal(size=(2, models.latent_dim)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    out_path = tmp_path / "out.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "tfgan_app.tf_c_api", str(export_dir), "serving_default",
         "--input", f"z={tmp_path / 'z.npy'}", "--save", str(out_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "samples: shape=[2, 2, 3, 1] dtype=float32"
    np.testing.assert_allclose(load_arrays(out_path)["samples"],
                               models.generator(z).numpy(), rtol=1e-5, atol=1e-6)


def test_cli_list_prints_one_line_per_signature_without_loading_tf(export):
    export_dir, _ = export
    proc = subprocess.run([sys.executable, "-m", "tfgan_app.tf_c_api", str(export_dir),
                           "--list"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "conditional(labels: int32[?], z: float32[?,4]) -> samples: float32[?,2,3,1]" \
        in lines
    assert "generate_png(seeds: int64[?]) -> images_bytes: string[?]" in lines
