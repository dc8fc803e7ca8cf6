"""export.py / tfgan_app.export.archive: versioned, atomic, checked exports that serve.

Three tiny runs are trained once (module fixtures): a toy MLP with uniform noise, a
DCGAN image model with a generator weight average (--g-ema) and a conditional (cGAN)
image model. Each is exported, and the
export is compared with the Keras generator restored separately from the same run:
in a fresh process (tf.saved_model.load), through the TF C API loader (as TF
Serving loads it), through saved_model_cli, inside another Keras model (TFSMLayer)
and through serving/client.py against the FakeTFServing test double.
"""

import concurrent.futures
import io
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import export as export_cli
from conftest import REPO
from tfgan_app import config as cfg
from tfgan_app.training import run_dir
from tfgan_app.export import archive as exporting
from tfgan_app.export.gan import GANSignatures, noise_for_seeds
from tfgan_app.training import train as training
from tfgan_app.training.run_dir import RunDirError
from tfgan_app.export.c_api import TFCApiError, load_arrays, run_signature, save_arrays

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import FakeTFServing  # noqa: E402

ATOL = 1e-5
NUM_CLASSES = 3
LATENT = 8
TINY = dict(batch_size=16, steps_per_epoch=2, epochs=1)
BASE_SIGNATURES = {"serving_default", "generate"}
EXPECTED_SIGNATURES = {
    "toy": BASE_SIGNATURES,
    "image": BASE_SIGNATURES | {"generate_png", "generate_truncated"},  # normal noise: truncation too
    "cond": BASE_SIGNATURES | {"generate_png", "generate_truncated", "conditional", "generate_conditional"},
}


# --------------------------------------------------------------------------- references
def expected_z(seeds, m) -> np.ndarray:
    """The documented rule, one seed at a time: a stateless draw from (seed, 0)."""
    rows = []
    for s in np.asarray(seeds, np.int64):
        pair = tf.constant([s, 0], tf.int64)
        if m.config.noise == "normal":
            rows.append(tf.random.stateless_normal([m.gan.latent_dim], pair))
        else:  # uniform (and stratified) in [-r, r]
            r = m.config.noise_range
            rows.append(tf.random.stateless_uniform([m.gan.latent_dim], pair, -r, r))
    return np.stack(rows)  # (B, latent)


def expected_truncated_z(seeds, truncation, m) -> np.ndarray:
    """The documented rule of generate_truncated, one seed at a time: N(0, I) truncated to
    [-t, t] from the stateless pair (seed, 2)."""
    return np.stack([tf.random.stateless_parameterized_truncated_normal(
        [m.gan.latent_dim], tf.constant([s, 2], tf.int64), 0.0, 1.0, -min(t, 64.0), min(t, 64.0))
        for s, t in zip(np.asarray(seeds, np.int64), np.asarray(truncation, np.float32))])


def expected_labels(seeds) -> np.ndarray:
    """Labels of the seed-only signatures of conditional models: uniform from (seed, 1)."""
    return np.array([tf.random.stateless_uniform([], tf.constant([s, 1], tf.int64), 0,
                                                 NUM_CLASSES, dtype=tf.int32).numpy()
                     for s in np.asarray(seeds, np.int64)], np.int32)


def keras_samples(m, z, labels=None) -> np.ndarray:
    inputs = z if labels is None else [z, np.asarray(labels, np.int32)]
    return np.asarray(m.gan.sampler(inputs, training=False), np.float32)


def pixels(samples) -> np.ndarray:
    return np.clip(np.round((samples + 1.0) * 127.5), 0, 255)


def decode_pngs(images_bytes) -> np.ndarray:
    from PIL import Image
    return np.stack([np.asarray(Image.open(io.BytesIO(bytes(b))))
                     for b in np.asarray(images_bytes).reshape(-1)])  # (B, H, W) grey


def make_inputs(m, signature, batch, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    seeds = rng.integers(-2**40, 2**40, batch).astype(np.int64)
    seeds[0] = 2**63 - 1  # the extremes are seeds too
    z = rng.normal(size=(batch, m.gan.latent_dim)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, batch).astype(np.int32)
    return {"serving_default": ({"z": z, "labels": labels} if m.kind == "cond" else {"z": z}),
            "generate": {"seeds": seeds}, "generate_png": {"seeds": seeds},
            "generate_truncated": {"seeds": seeds, "truncation": rng.uniform(0.05, 3.0, batch).astype(np.float32)},
            "conditional": {"z": z, "labels": labels},
            "generate_conditional": {"seeds": seeds, "labels": labels}}[signature]


def check_outputs(m, signature, inputs, out):
    """Assert `out` is what `signature` must return for `inputs` (Keras reference)."""
    if "z" in inputs:
        z = inputs["z"]
    elif "truncation" in inputs:
        z = expected_truncated_z(inputs["seeds"], inputs["truncation"], m)
        np.testing.assert_allclose(out["z"], z, atol=ATOL)
        assert np.all(np.abs(out["z"]) <= inputs["truncation"][:, None])
    else:
        z = expected_z(inputs["seeds"], m)
        if signature != "generate_png":
            np.testing.assert_allclose(out["z"], z, atol=ATOL)
    labels = inputs.get("labels")
    if m.kind == "cond" and labels is None:
        labels = expected_labels(inputs["seeds"])
        if signature in ("generate", "generate_truncated"):
            np.testing.assert_array_equal(out["labels"], labels)
    samples = keras_samples(m, z, labels)
    if signature == "generate_png":
        assert set(out) == {"images_bytes"}
        np.testing.assert_allclose(decode_pngs(out["images_bytes"]), pixels(samples)[..., 0],
                                   atol=1)
        return
    assert out["samples"].dtype == np.float32
    np.testing.assert_allclose(out["samples"], samples, atol=ATOL)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{kind: workdir} of three tiny trained runs."""
    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    npz = root / "digits.npz"
    np.savez(npz, x=rng.integers(0, 256, (48, 28, 28, 1), dtype=np.uint8),
             y=np.arange(48) % NUM_CLASSES)
    image = dict(problem="image", dataset=f"npz:{npz}", architecture="dcgan", width=8,
                 latent_dim=LATENT, **TINY)
    configs = {
        "toy": cfg.preset("ring8", g_hidden=(8,), d_hidden=(8,), noise="uniform",
                          noise_range=2.0, **TINY),
        "image": cfg.preset("ring8", g_ema=0.5, **image),  # exports the weight average
        "cond": cfg.preset("ring8", conditioning="cgan", **image),
    }
    for kind, config in configs.items():
        training.train(config, root / kind, verbose=0)
    return {kind: root / kind for kind in configs}


@pytest.fixture(scope="module")
def models(runs, tmp_path_factory):
    """{kind: namespace(dir, gan, config, result)}: the export and a separately restored GAN."""
    base = tmp_path_factory.mktemp("exports")
    out = {}
    for kind, workdir in runs.items():
        result = exporting.export_run(workdir, base / kind)
        config, gan, _ = run_dir.restore_run(workdir)
        out[kind] = types.SimpleNamespace(dir=result.export_dir, gan=gan, config=config,
                                          result=result, kind=kind)
    return out


_FRESH_LOADER = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    from tfgan_app.export.c_api import load_arrays, save_arrays
    loaded = {}
    for export_dir, signature, in_path, out_path in json.load(open(sys.argv[1])):
        if export_dir not in loaded:
            loaded[export_dir] = tf.saved_model.load(export_dir)
        fn = loaded[export_dir].signatures[signature]
        out = fn(**{k: tf.constant(v) for k, v in load_arrays(in_path).items()})
        save_arrays(out_path, {k: v.numpy() for k, v in out.items()})
""")


def _c_api(job):
    export_dir, signature, inputs = job
    try:
        return run_signature(export_dir, signature, inputs)
    except TFCApiError as e:
        return e


def _run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, **kwargs)


@pytest.fixture(scope="module")
def background(models, tmp_path_factory):
    """Every check that needs another process, started together, two at a time.

    Returns a namespace of futures: `fresh` (tf.saved_model.load in a fresh process,
    every signature at batch 1 and 256), `cli_show` / `cli_run` (saved_model_cli), and
    `c_api[key]` (tf_c_api.run_signature, one fresh process each), plus their inputs.
    """
    tmp = tmp_path_factory.mktemp("background")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    fresh_jobs, fresh_keys = [], []
    for kind, m in models.items():
        for signature in sorted(EXPECTED_SIGNATURES[kind]):
            for batch in (1, 256):
                stem = tmp / f"{kind}-{signature}-{batch}"
                inputs = make_inputs(m, signature, batch, seed=batch)
                save_arrays(f"{stem}-in.npz", inputs)
                fresh_jobs.append([str(m.dir), signature, f"{stem}-in.npz", f"{stem}-out.npz"])
                fresh_keys.append((kind, signature, batch, inputs))
    (tmp / "jobs.json").write_text(json.dumps(fresh_jobs))

    cond = models["cond"]
    cli_seeds = np.array([5, 6, 7], np.int64)
    np.save(tmp / "seeds.npy", cli_seeds)
    cli = str(Path(sys.executable).parent / "saved_model_cli")

    c_api_jobs = {}
    for kind, m in models.items():
        for signature in EXPECTED_SIGNATURES[kind]:
            c_api_jobs[(kind, signature)] = (m.dir, signature, make_inputs(m, signature, 3, seed=7))
    for signature, bad in [("conditional", -1), ("generate_conditional", NUM_CLASSES)]:
        inputs = make_inputs(cond, signature, 3, seed=8)
        inputs["labels"][1] = bad
        c_api_jobs[("out_of_range", signature)] = (cond.dir, signature, inputs)
    inputs = make_inputs(cond, "generate_truncated", 3, seed=8)
    inputs["truncation"][1] = 0.0
    c_api_jobs[("bad_truncation", "generate_truncated")] = (cond.dir, "generate_truncated", inputs)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    futures = types.SimpleNamespace(
        fresh=pool.submit(_run, [sys.executable, "-c", _FRESH_LOADER, str(tmp / "jobs.json")],
                          cwd=tmp, env=env),
        cli_show=pool.submit(_run, [cli, "show", "--dir", str(cond.dir), "--all"]),
        cli_run=pool.submit(_run, [cli, "run", "--dir", str(cond.dir), "--tag_set", "serve",
                                   "--signature_def", "generate", "--inputs",
                                   f"seeds={tmp / 'seeds.npy'}", "--outdir", str(tmp / "out")]),
        c_api={key: pool.submit(_c_api, job) for key, job in c_api_jobs.items()},
        fresh_jobs=fresh_jobs, fresh_keys=fresh_keys, c_api_jobs=c_api_jobs,
        cli_seeds=cli_seeds, cli_out=tmp / "out")
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def fresh_outputs(background):
    """{(kind, signature, batch): (inputs, outputs)} from ONE fresh process (tf.saved_model.load)."""
    proc = background.fresh.result()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {(k, s, b): (inputs, load_arrays(job[3]))
            for (k, s, b, inputs), job in zip(background.fresh_keys, background.fresh_jobs)}


@pytest.fixture(scope="module")
def c_api_results(background):
    """(jobs, results) of tf_c_api.run_signature: outputs, or the TFCApiError raised."""
    return background.c_api_jobs, {k: f.result() for k, f in background.c_api.items()}


# --------------------------------------------------------------------------- structure
def test_signatures_dtypes_and_shapes(models, background):
    # (`background` starts the other-process checks now; they run meanwhile.)
    from tensorflow.core.protobuf import saved_model_pb2

    for kind, m in models.items():
        sm = saved_model_pb2.SavedModel()
        sm.ParseFromString((m.dir / "saved_model.pb").read_bytes())
        (meta,) = [g for g in sm.meta_graphs if "serve" in g.meta_info_def.tags]
        sigs = {k: v for k, v in meta.signature_def.items() if not k.startswith("__")}
        assert set(sigs) == EXPECTED_SIGNATURES[kind]
        sample = [-1, 2] if kind == "toy" else [-1, 28, 28, 1]
        for name, sig in sigs.items():
            assert sig.method_name == "tensorflow/serving/predict"
            shapes = {k: [d.size for d in v.tensor_shape.dim]
                      for k, v in [*sig.inputs.items(), *sig.outputs.items()]}
            dtypes = {k: tf.dtypes.as_dtype(v.dtype).name
                      for k, v in [*sig.inputs.items(), *sig.outputs.items()]}
            assert all(len(s) >= 1 and s[0] == -1 for s in shapes.values()), (name, shapes)
            assert "float16" not in dtypes.values() and "bfloat16" not in dtypes.values()
            if "z" in sig.inputs:
                assert (dtypes["z"], shapes["z"]) == ("float32", [-1, m.gan.latent_dim])
            if "seeds" in sig.inputs:
                assert (dtypes["seeds"], shapes["seeds"]) == ("int64", [-1])
            if "labels" in sig.inputs:
                assert (dtypes["labels"], shapes["labels"]) == ("int32", [-1])
            if "samples" in sig.outputs:
                assert (dtypes["samples"], shapes["samples"]) == ("float32", sample)
            if name == "generate_png":
                assert dict(sig.outputs).keys() == {"images_bytes"}
                assert dtypes["images_bytes"] == "string"
        cond = kind == "cond"
        assert set(sigs["serving_default"].inputs) == ({"z", "labels"} if cond else {"z"})
        assert set(sigs["generate"].outputs) == ({"samples", "z", "labels"} if cond
                                                 else {"samples", "z"})
        library = meta.graph_def.library.function
        assert library, "no graph functions?"
        assert not any(f.attr["_XlaMustCompile"].b for f in library)
        assert not any(n.attr["_XlaMustCompile"].b for f in library for n in f.node_def)
        info = json.loads((m.dir / "assets.extra" / "export_info.json").read_text())
        assert info["latent_dim"] == m.gan.latent_dim and info["epochs"] == 1
        assert info["num_classes"] == (NUM_CLASSES if cond else 0)
        assert info["sample_shape"] == sample[1:] and set(info["signatures"]) == set(sigs)
        assert info["config"]["problem"] == m.config.problem
        assert (info["truncation"] is None) == (kind == "toy")  # uniform noise: no truncation trick


def test_warmup_requests_cover_every_signature_and_replay(models):
    from tensorflow_serving.apis import prediction_log_pb2

    m = models["cond"]
    loaded = tf.saved_model.load(str(m.dir))
    seen = []
    for record in tf.data.TFRecordDataset(str(m.dir / "assets.extra" / "tf_serving_warmup_requests")):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "generator"
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](
            **{k: tf.constant(v) for k, v in inputs.items()})
        batch = len(next(iter(inputs.values())))
        assert all(v.shape[0] == batch for v in out.values())
        seen.append((request.model_spec.signature_name, batch))
    assert sorted(seen) == sorted((s, b) for s in EXPECTED_SIGNATURES["cond"] for b in (1, 64))


# --------------------------------------------------------------------------- in process
def test_generate_is_deterministic_and_follows_the_seed_rule(models):
    for kind in ("toy", "cond"):  # uniform noise in [-2, 2]; normal noise with labels
        m = models[kind]
        fn = tf.saved_model.load(str(m.dir)).signatures["generate"]
        seeds = np.array([0, 1, 1, -7, 2**62], np.int64)
        a = {k: v.numpy() for k, v in fn(seeds=tf.constant(seeds)).items()}
        b = {k: v.numpy() for k, v in fn(seeds=tf.constant(seeds[::-1].copy())).items()}
        again = {k: v.numpy() for k, v in fn(seeds=tf.constant(seeds)).items()}
        for key in a:
            np.testing.assert_array_equal(a[key], again[key])  # the same call: bit for bit
            if key == "samples":  # another position in the batch: oneDNN's batch blocking may
                # round the last bit differently on some CPUs (seen: AMD EPYC, AVX2, 1 ulp in 3,920 values)
                np.testing.assert_allclose(a[key], b[key][::-1], rtol=2e-7, atol=1e-9)
            else:
                np.testing.assert_array_equal(a[key], b[key][::-1])  # z, labels: bit for bit, any position
        np.testing.assert_array_equal(a["samples"][1], a["samples"][2])  # seed 1 twice
        np.testing.assert_allclose(a["z"], expected_z(seeds, m), atol=0)
        if kind == "toy":
            assert np.all(np.abs(a["z"]) <= 2.0) and np.abs(a["z"]).max() > 1.0  # U[-2, 2]
        else:
            np.testing.assert_array_equal(a["labels"], expected_labels(seeds))
    # stratified noise has no per-example meaning: uniform in [-r, r] per seed
    z = noise_for_seeds([3, 4], 1, "stratified", 5.0).numpy()
    want = [tf.random.stateless_uniform([1], tf.constant([s, 0], tf.int64), -5.0, 5.0)
            for s in (3, 4)]
    np.testing.assert_array_equal(z, np.stack(want))


def test_a_run_with_a_weight_average_exports_the_average(models):
    m = models["image"]
    z = make_inputs(m, "serving_default", 4)["z"]
    out = tf.saved_model.load(str(m.dir)).signatures["serving_default"](z=tf.constant(z))["samples"].numpy()
    average = m.gan.generator_ema(z, training=False).numpy()
    trained = m.gan.generator(z, training=False).numpy()
    assert np.abs(average - trained).max() > 20 * ATOL  # the two differ by far more than the match allows
    np.testing.assert_allclose(out, average, atol=ATOL)
    info = json.loads((m.dir / exporting.EXTRA_DIR / exporting.INFO_FILE).read_text())
    assert info["weights"] == "latest checkpoint's generator weight average (EMA, decay 0.5)"
    assert json.loads((models["toy"].dir / exporting.EXTRA_DIR / exporting.INFO_FILE).read_text())["weights"] == \
        "latest checkpoint's generator (no EMA)"


def test_bad_labels_fail_in_the_graph(models):
    fns = tf.saved_model.load(str(models["cond"].dir)).signatures
    z = tf.zeros([3, LATENT])
    seeds = tf.constant([1, 2, 3], tf.int64)
    for call, needle in [
        (lambda: fns["serving_default"](z=z, labels=tf.constant([0, NUM_CLASSES, 1])),
         f"labels must be class indices in [0, {NUM_CLASSES}); got a label >= {NUM_CLASSES}"),
        (lambda: fns["generate_conditional"](seeds=seeds, labels=tf.constant([0, -2, 1])),
         "got a negative label"),
        (lambda: fns["generate_conditional"](seeds=seeds, labels=tf.constant([0, 1])),
         "labels must have one entry per row of z / seeds"),
        (lambda: fns["conditional"](z=z, labels=tf.constant([0, 1, 2, 0])),
         "labels must have one entry per row of z / seeds"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(needle)):
            call()


def test_generate_truncated_follows_seed_and_threshold_and_refuses_bad_thresholds(models):
    fn = tf.saved_model.load(str(models["cond"].dir)).signatures["generate_truncated"]
    seeds = tf.constant([3, 3, 3, 9], tf.int64)
    out = fn(seeds=seeds, truncation=tf.constant([0.1, 0.1, 2.0, np.inf], tf.float32))
    z = out["z"].numpy()
    np.testing.assert_array_equal(z[0], z[1])  # the same seed and t: the same z, and sample
    np.testing.assert_array_equal(out["samples"].numpy()[0], out["samples"].numpy()[1])
    assert np.abs(z[0]).max() <= 0.1 and np.abs(z[2]).max() > 0.1  # t bounds |z|; another t, another z
    assert np.isfinite(z[3]).all()  # t = inf: untruncated (taken as 64)
    np.testing.assert_array_equal(out["labels"].numpy(), expected_labels(seeds.numpy()))
    for truncation, needle in [([0.5, 0.0, 1.0, 1.0], "truncation must be a threshold > 0"),
                               ([0.5, -1.0, 1.0, 1.0], "truncation must be a threshold > 0"),
                               ([0.5, np.nan, 1.0, 1.0], "truncation must be a threshold > 0"),
                               ([0.5, 1.0], "truncation must have one entry per seed")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(needle)):
            fn(seeds=seeds, truncation=tf.constant(truncation, tf.float32))
    assert "generate_truncated" not in tf.saved_model.load(str(models["toy"].dir)).signatures  # uniform noise


def test_tfsm_layer_inside_a_keras_model(models):
    m = models["image"]
    z_in = keras.Input((LATENT,), name="z")
    samples = keras.layers.TFSMLayer(str(m.dir), call_endpoint="serving_default")(z_in)["samples"]
    model = keras.Model(z_in, keras.layers.Rescaling(0.5, offset=0.5)(samples))  # to [0, 1]
    z = np.random.default_rng(3).normal(size=(5, LATENT)).astype(np.float32)
    np.testing.assert_allclose(model.predict(z, verbose=0), keras_samples(m, z) * 0.5 + 0.5,
                               atol=ATOL)

    c = models["cond"]
    zc, yc = keras.Input((LATENT,), name="z"), keras.Input((), dtype="int32", name="labels")
    layer = keras.layers.TFSMLayer(str(c.dir), call_endpoint="conditional")
    model = keras.Model([zc, yc], layer(zc, labels=yc)["samples"])
    labels = np.array([0, 1, 2, 2, 0], np.int32)
    np.testing.assert_allclose(model.predict([z, labels], verbose=0), keras_samples(c, z, labels),
                               atol=ATOL)


def test_serving_client_against_a_real_export(models):
    import importlib.util
    spec = importlib.util.spec_from_file_location("serving_client", REPO / "serving" / "client.py")
    client_lib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client_lib)
    m = models["cond"]
    seeds, labels = [11, 12, 13], [2, 0, 1]
    z = np.random.default_rng(5).normal(size=(3, LATENT)).astype(np.float32)
    with FakeTFServing(m.dir, model_name="generator", version=1, max_batch_size=256) as server:
        for protocol in ("rest", "grpc"):
            with client_lib.Client(host="127.0.0.1", rest_port=server.rest_port,
                                   grpc_port=server.grpc_port, protocol=protocol,
                                   timeout=30) as client:
                check_outputs(m, "generate_conditional", {"seeds": np.array(seeds), "labels":
                              np.array(labels, np.int32)}, client.generate(seeds, labels=labels))
                out = client.generate(seeds)  # seed-only: labels come from the seeds
                check_outputs(m, "generate", {"seeds": np.array(seeds)}, out)
                np.testing.assert_allclose(client.sample(z, labels=labels),
                                           keras_samples(m, z, labels), atol=ATOL)
                check_outputs(m, "generate_png", {"seeds": np.array(seeds)},
                              {"images_bytes": np.array(client.generate_png(seeds), object)})
                with pytest.raises(client_lib.ServingError, match="labels must be class indices"):
                    client.sample(z, labels=[0, 1, NUM_CLASSES])
        with pytest.raises(client_lib.ServingError, match="Missing named input: labels"):
            client_lib.Client(host="127.0.0.1", rest_port=server.rest_port).sample(z)


# --------------------------------------------------------------------------- versions
def test_versions_count_up_and_an_existing_version_is_refused(runs, tmp_path):
    base = tmp_path / "exports"
    first = exporting.export_run(runs["toy"], base)
    second = exporting.export_run(runs["toy"], base)
    assert (first.version, second.version) == (1, 2)
    assert first.export_dir == base / "generator" / "1"
    assert sorted(os.listdir(base / "generator")) == ["1", "2"]  # no temp dir left
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(first.export_dir.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's 0700
    before = (base / "generator" / "2" / "saved_model.pb").read_bytes()
    with pytest.raises(exporting.ExportError, match=r"--version 2: .* already exists"):
        exporting.export_run(runs["toy"], base, version=2)
    assert (base / "generator" / "2" / "saved_model.pb").read_bytes() == before
    assert exporting.export_run(runs["toy"], base, name="other", version=7).version == 7
    (base / "other" / "notes.txt").write_text("not a version")
    (base / "other" / "tmp-x").mkdir()
    assert exporting.next_version(base / "other") == 8


def test_publishing_never_replaces_a_version_created_meanwhile(tmp_path):
    """The final rename refuses an existing target, even an empty directory."""
    src, dst = tmp_path / ".tmp-export-a", tmp_path / "3"
    src.mkdir()
    dst.mkdir()
    with pytest.raises(FileExistsError):
        exporting._rename_noreplace(src, dst)
    assert src.is_dir() and dst.is_dir()
    dst.rmdir()
    exporting._rename_noreplace(src, dst)
    assert dst.is_dir() and not src.exists()


@pytest.mark.parametrize("failure", ["validate_raises", "outputs_differ"])
def test_a_failed_contract_check_publishes_nothing(runs, tmp_path, monkeypatch, failure):
    if failure == "validate_raises":
        def broken(*args, **kwargs):
            raise exporting.ExportError("simulated failure")
        monkeypatch.setattr(exporting, "validate_export", broken)
        match = "simulated failure"
    else:  # the real check, against a reference that is off by 0.1
        real_reference = GANSignatures.reference

        def off(*args, **kwargs):
            return {k: v + 0.1 if k == "samples" else v
                    for k, v in real_reference(*args, **kwargs).items()}
        monkeypatch.setattr(GANSignatures, "reference", off)
        match = "differs from the Keras generator"
    base = tmp_path / "exports"
    with pytest.raises(exporting.ExportError, match=match):
        exporting.export_run(runs["toy"], base)
    assert os.listdir(base / "generator") == []  # no version, no temp dir


def test_bad_arguments_name_the_flag(runs, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    for workdir, needle in [(tmp_path / "missing", "does not exist"),
                            (tmp_path / "file", "is a file"),
                            (tmp_path / "empty", "holds no run")]:
        with pytest.raises(RunDirError, match=f"--workdir {workdir}: {needle}"):
            exporting.export_run(workdir, tmp_path / "exports")
    with pytest.raises(exporting.ExportError, match=f"--export-base {tmp_path / 'file'}: .* is a file"):
        exporting.export_run(runs["toy"], tmp_path / "file")
    for name in ("", "a/b", "..", ".hidden"):
        with pytest.raises(exporting.ExportError, match="--name: .* is not a model name"):
            exporting.export_run(runs["toy"], tmp_path / "exports", name=name)
    with pytest.raises(exporting.ExportError, match="--version: expected a positive integer"):
        exporting.export_run(runs["toy"], tmp_path / "exports", version=0)
    assert not (tmp_path / "exports").exists()


# --------------------------------------------------------------------------- CLI
def test_cli_exports_and_prints_the_version(runs, tmp_path, capsys):
    code = export_cli.main(["--workdir", str(runs["image"]), "--export-base",
                            str(tmp_path / "ex"), "--name", "mnist", "--version", "4"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"-> {tmp_path / 'ex' / 'mnist' / '4'}" in out and "generate_png(seeds: int64[?])" in out
    assert (tmp_path / "ex" / "mnist" / "4" / "saved_model.pb").is_file()


def test_cli_errors_are_one_line_and_exit_2(runs, tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "ex" / "generator" / "1").mkdir(parents=True)
    cases = [
        (["--workdir", str(tmp_path / "missing")], f"--workdir {tmp_path / 'missing'}: does not exist"),
        (["--workdir", str(tmp_path / "a_file")], f"--workdir {tmp_path / 'a_file'}: is a file"),
        (["--workdir", str(runs["toy"]), "--export-base", str(tmp_path / "ex"), "--version", "1"],
         "--version 1: " + str(tmp_path / "ex" / "generator" / "1") + " already exists"),
        (["--workdir", str(runs["toy"]), "--version", "0"], "--version: expected a positive integer"),
    ]
    for argv, needle in cases:
        proc = subprocess.run([sys.executable, "export.py", *argv], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"export.py: error: {needle}"), lines
        assert proc.stdout == ""


# --------------------------------------------------------------------------- other processes
@pytest.mark.parametrize("kind", ["toy", "image", "cond"])
def test_fresh_process_round_trip_matches_keras_at_batch_1_and_256(models, fresh_outputs, kind):
    m = models[kind]
    for signature in EXPECTED_SIGNATURES[kind]:
        for batch in (1, 256):
            inputs, out = fresh_outputs[(kind, signature, batch)]
            assert all(len(v) == batch for v in out.values())
            check_outputs(m, signature, inputs, out)


@pytest.mark.parametrize("kind", ["toy", "image", "cond"])
def test_c_api_runs_every_signature_like_keras(models, c_api_results, kind):
    jobs, results = c_api_results
    m = models[kind]
    for signature in EXPECTED_SIGNATURES[kind]:
        out = results[(kind, signature)]
        assert not isinstance(out, Exception), f"{signature}: {out}"
        check_outputs(m, signature, jobs[(kind, signature)][2], out)
    if kind != "toy":  # the PNGs are the samples `generate` gives for the same seeds
        assert np.array_equal(jobs[(kind, "generate_png")][2]["seeds"],
                              jobs[(kind, "generate")][2]["seeds"])
        np.testing.assert_allclose(decode_pngs(results[(kind, "generate_png")]["images_bytes"]),
                                   pixels(results[(kind, "generate")]["samples"])[..., 0], atol=0)


def test_c_api_out_of_range_labels_are_invalid_argument(c_api_results):
    _, results = c_api_results
    for signature in ("conditional", "generate_conditional"):
        err = results[("out_of_range", signature)]
        assert isinstance(err, TFCApiError), f"{signature} accepted a bad label: {err}"
        assert err.code == 3
        assert f"labels must be class indices in [0, {NUM_CLASSES})" in err.message


def test_c_api_bad_truncation_is_invalid_argument(c_api_results):
    _, results = c_api_results
    err = results[("bad_truncation", "generate_truncated")]
    assert isinstance(err, TFCApiError) and err.code == 3, err
    assert "truncation must be a threshold > 0" in err.message


def test_c_api_bad_requests_fail_clearly(models):
    c = models["cond"]
    z = np.zeros((2, LATENT), np.float32)
    labels = np.array([0, 1], np.int32)
    cases = [
        ("generate", {"seeds": np.array([1, 2], np.float32)}, "input 'seeds' must be int64"),
        ("conditional", {"z": z[0], "labels": labels}, "input 'z' must have shape [None, 8]"),
        ("conditional", {"z": z}, "missing input(s) 'labels'"),
        ("generate", {"seeds": np.int64(3)}, "input 'seeds' must have shape [None]"),
    ]
    for signature, inputs, needle in cases:
        with pytest.raises(TFCApiError) as info:
            run_signature(c.dir, signature, inputs)
        assert info.value.code == 3 and needle in info.value.message, info.value.message


def test_saved_model_cli_shows_and_runs_the_export(models, background):
    show, run = background.cli_show.result(), background.cli_run.result()
    assert show.returncode == 0, show.stderr[-2000:]
    for signature in EXPECTED_SIGNATURES["cond"]:
        assert f"signature_def['{signature}']" in show.stdout
    assert "DT_HALF" not in show.stdout
    assert run.returncode == 0, run.stderr[-2000:]
    out = {k: np.load(background.cli_out / f"{k}.npy") for k in ("samples", "z", "labels")}
    check_outputs(models["cond"], "generate", {"seeds": background.cli_seeds}, out)
