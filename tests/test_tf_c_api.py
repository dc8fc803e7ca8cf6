"""Exports run through the TF C API loader (tag `serve`, XLA off), as TF Serving loads them.

Every `run_signature` call starts a fresh Python process that never imports
TensorFlow's Python runtime, and its outputs are compared with the Keras models
called directly in this process. The loader's assumptions about the library (C++
symbol names, the TF_TString size) must fail with one clear line when they break;
those failure paths are tested in this process, where they stop before the loader
changes anything (it would disable XLA process-wide).
"""

import ctypes
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import (TinyGAN, make_tiny_generator_archive,  # noqa: E402
                             reference_labels, reference_z)

from tfgan_app.export import c_api
from tfgan_app.export.c_api import TFCApiError, load_arrays, run_signature, signature_def_map

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A conditional TinyGAN's contract export plus two endpoints only these tests need."""
    archive, _, models = make_tiny_generator_archive(num_classes=3)

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
        return {"samples": tf.tanh(z) * 2.0}

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
        labels = (np.arange(batch) % models.num_classes).astype(np.int32)
        out = run_signature(export_dir, "serving_default", {"z": z, "labels": labels})
        assert list(out) == ["samples"]
        assert out["samples"].dtype == np.float32
        np.testing.assert_allclose(out["samples"], models.samples(z, labels),
                                   rtol=1e-5, atol=1e-6)


def test_generate_returns_the_seeded_z_labels_and_their_samples(export):
    export_dir, models = export
    seeds = np.array([0, 7, 123], dtype=np.int64)
    out = run_signature(export_dir, "generate", {"seeds": seeds})
    assert sorted(out) == ["labels", "samples", "z"]
    assert out["labels"].dtype == np.int32 and out["z"].dtype == np.float32
    np.testing.assert_array_equal(out["labels"], reference_labels(seeds))
    np.testing.assert_allclose(out["z"], reference_z(seeds), rtol=1e-6)
    np.testing.assert_allclose(out["samples"], models.samples(out["z"], out["labels"]),
                               rtol=1e-5, atol=1e-6)
    assert out["samples"].shape == (3, *models.image_shape)


def test_conditional_with_two_inputs_matches_keras(export):
    export_dir, models = export
    z = np.random.default_rng(1).normal(size=(4, models.latent_dim)).astype(np.float32)
    labels = np.array([0, 1, 2, 1], dtype=np.int32)
    out = run_signature(export_dir, "conditional", {"z": z, "labels": labels})
    np.testing.assert_allclose(out["samples"], models.samples(z, labels),
                               rtol=1e-5, atol=1e-6)


def test_generate_png_returns_png_bytes_of_the_samples(export):
    from PIL import Image

    export_dir, models = export
    seeds = np.array([3, 4], dtype=np.int64)
    out = run_signature(export_dir, "generate_png", {"seeds": seeds})
    pngs = out["images_bytes"]
    assert pngs.dtype == object and pngs.shape == (2,)
    samples = models.samples(reference_z(seeds), reference_labels(seeds))  # in [-1, 1]
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
    assert "labels must be class indices in [0, 3)" in err.value.message


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
    generator = TinyGAN(num_classes=0).generator
    raw_dir = tmp_path / "raw"
    tf.saved_model.save(generator, str(raw_dir))
    [key] = signature_def_map(raw_dir)["serving_default"]["inputs"]
    z = np.zeros((1, generator.input_shape[1]), np.float32)
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
    assert sigs["generate"]["outputs"]["labels"] == {
        "name": sigs["generate"]["outputs"]["labels"]["name"], "dtype": "int32",
        "shape": [None]}
    assert "__saved_model_init_op" not in sigs


def test_child_never_imports_the_tensorflow_python_runtime(export):
    export_dir, _ = export
    code = (
        "import sys, numpy as np\n"
        "from tfgan_app.export.c_api import CApiSession, xla_compilation_disabled\n"
        f"s = CApiSession({str(export_dir)!r})\n"
        "out = s.run('generate', {'seeds': np.arange(2, dtype=np.int64)})\n"
        "print(sorted(out), xla_compilation_disabled(),\n"
        "      sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['labels', 'samples', 'z'] True []"


def test_cli_prints_outputs_and_saves_npz(export, tmp_path):
    export_dir, models = export
    z = np.random.default_rng(2).normal(size=(2, models.latent_dim)).astype(np.float32)
    labels = np.array([2, 0], np.int32)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    out_path = tmp_path / "out.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "tfgan_app.export.c_api", str(export_dir), "serving_default",
         "--input", f"z={tmp_path / 'z.npy'}", "--input", f"labels={tmp_path / 'labels.npy'}",
         "--save", str(out_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "samples: shape=[2, 2, 3, 1] dtype=float32"
    np.testing.assert_allclose(load_arrays(out_path)["samples"], models.samples(z, labels),
                               rtol=1e-5, atol=1e-6)


def test_cli_refuses_a_pickled_input_in_one_line_without_advising_to_unpickle(export, tmp_path):
    export_dir, _ = export
    np.save(tmp_path / "z.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    proc = subprocess.run([sys.executable, "-m", "tfgan_app.export.c_api", str(export_dir), "serving_default",
                           "--input", f"z={tmp_path / 'z.npy'}"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=ENV)
    assert proc.returncode != 0
    err = proc.stderr.strip()
    assert err.startswith(f"--input z={tmp_path / 'z.npy'}: ") and len(err.splitlines()) == 1, err
    assert "allow_pickle" not in err and "unsafe" not in err


def test_cli_list_prints_one_line_per_signature_without_loading_tf(export):
    export_dir, _ = export
    proc = subprocess.run([sys.executable, "-m", "tfgan_app.export.c_api", str(export_dir),
                           "--list"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "conditional(labels: int32[?], z: float32[?,4]) -> samples: float32[?,2,3,1]" \
        in lines
    assert "generate_png(seeds: int64[?]) -> images_bytes: string[?]" in lines
    assert not any("__saved_model_init_op" in line for line in lines)


# --------------------------------------------------------------------------- module path
def test_the_cli_is_python_m_tfgan_app_export_c_api():
    assert c_api.CLI_MODULE == c_api.__name__ == "tfgan_app.export.c_api"
    assert "tfgan_app.tf_c_api" not in Path(c_api.__file__).read_text()
    proc = subprocess.run([sys.executable, "-m", "tfgan_app.export.c_api", "--help"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m tfgan_app.export.c_api ")


def test_run_signature_works_from_any_working_directory(export, tmp_path, monkeypatch):
    """The child finds the package through PYTHONPATH (the repository root), not the cwd."""
    export_dir, models = export
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    out = run_signature(export_dir, "generate", {"seeds": np.array([1], np.int64)})
    np.testing.assert_allclose(out["z"], reference_z([1]), rtol=1e-6)


# --------------------------------------------------------------------------- fragile parts
@pytest.fixture
def unloaded(monkeypatch):
    """The loader as in a fresh process (nothing loaded); these tests must fail early."""
    monkeypatch.setattr(c_api, "_LIB", None)
    monkeypatch.setattr(c_api, "_FAIL_ON", None)
    yield
    assert c_api._LIB is None  # the loader never got to DisableXlaCompilation


def assert_one_line(err, *fragments):
    text = str(err.value)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text
    assert "a TensorFlow upgrade (installed: " in text and "likely changed it" in text


@pytest.mark.parametrize("attr", ["_XLA_DISABLE", "_XLA_FAIL_ON"])
def test_a_missing_mangled_symbol_names_itself_and_the_upgrade(unloaded, monkeypatch, attr):
    fake = "_ZN10tensorflow25DisableXlaCompilationNowEv"
    monkeypatch.setattr(c_api, attr, fake)
    with pytest.raises(TFCApiError) as err:
        c_api._load_library()
    assert err.value.code == c_api.NOT_FOUND
    assert_one_line(err, f"symbol {fake} (tensorflow::", "not found in ",
                    "libtensorflow_cc.so.2")


def test_a_library_without_the_c_api_names_the_first_missing_symbol(unloaded, tmp_path):
    framework = c_api.tensorflow_lib_dir() / "libtensorflow_framework.so.2"
    for name in ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2"):
        (tmp_path / name).symlink_to(framework)  # the framework has no TF_Version
    with pytest.raises(TFCApiError) as err:
        c_api._load_library(tmp_path)
    assert err.value.code == c_api.NOT_FOUND
    assert_one_line(err, f"symbol TF_Version (TF C API) not found in "
                         f"{tmp_path / 'libtensorflow_cc.so.2'}")


def test_a_file_that_is_no_library_is_one_line(unloaded, tmp_path):
    for name in ("libtensorflow_framework.so.2", "libtensorflow_cc.so.2"):
        (tmp_path / name).write_text("not an ELF file\n")
    with pytest.raises(TFCApiError) as err:
        c_api._load_library(tmp_path)
    assert "\n" not in str(err.value) and f"cannot load the TF C API from {tmp_path}" \
        in str(err.value)


def _string_functions():
    """libtensorflow_cc with the TF_String* functions declared (nothing else touched)."""
    lib_dir = c_api.tensorflow_lib_dir()
    ctypes.CDLL(str(lib_dir / "libtensorflow_framework.so.2"), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(str(lib_dir / "libtensorflow_cc.so.2"), mode=ctypes.RTLD_GLOBAL)
    for name, restype, argtypes in c_api._C_API:
        if name.startswith("TF_String"):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, list(argtypes)
    return lib


def test_the_tstring_size_is_measured_from_the_library():
    assert c_api._check_tstring_layout(_string_functions(), "lib") == c_api._TSTRING_SIZE == 24


@pytest.mark.parametrize("assumed", [16, 32])
def test_a_tstring_size_mismatch_names_both_sizes(unloaded, monkeypatch, assumed):
    monkeypatch.setattr(c_api, "_TSTRING_SIZE", assumed)
    with pytest.raises(TFCApiError) as err:
        c_api._load_library()
    assert err.value.code == c_api.INTERNAL
    assert_one_line(err, "TF_TString is 24 bytes in ", "(bytes TF_StringInit zeroes)",
                    f"_TSTRING_SIZE = {assumed}")


def test_a_tstring_that_does_not_round_trip_is_one_line():
    """A library whose TF_StringInit zeroes 24 bytes but whose strings do not come back."""
    class ForgetfulLib:
        def TF_StringInit(self, p):
            ctypes.memset(p, 0, 24)

        def TF_StringCopy(self, p, data, size):
            pass  # loses the string

        def TF_StringGetDataPointer(self, p):
            return p + 1

        def TF_StringGetSize(self, p):
            return 0

        def TF_StringDealloc(self, p):
            pass

    with pytest.raises(TFCApiError) as err:
        c_api._check_tstring_layout(ForgetfulLib(), "libfake.so")
    assert err.value.code == c_api.INTERNAL
    assert_one_line(err, "a 22-byte string did not round-trip through TF_StringCopy / "
                         "TF_StringGetDataPointer / TF_StringGetSize in libfake.so as a "
                         "24-byte TF_TString (came back 0 bytes, inline)")


def test_the_cli_reports_a_missing_symbol_in_one_line(export, tmp_path):
    export_dir, _ = export
    np.save(tmp_path / "seeds.npy", np.arange(2, dtype=np.int64))
    code = ("import sys\n"
            "import tfgan_app.export.c_api as c\n"
            "c._XLA_DISABLE = '_ZN10tensorflow9NoSuchXlaEv'\n"
            f"sys.exit(c.main([{str(export_dir)!r}, 'generate', "
            f"'--input', {'seeds=' + str(tmp_path / 'seeds.npy')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=ENV)
    assert proc.returncode == 1
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert line.startswith("error: NOT_FOUND (code 5): symbol _ZN10tensorflow9NoSuchXlaEv "
                           "(tensorflow::DisableXlaCompilation()")
    assert "likely changed it" in line
