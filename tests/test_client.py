"""serving/client.py against FakeTFServing (a test double) serving tiny real exports.

Two exports are written by the real exporter (an unconditional and a conditional
TinyGAN); every signature and every output goes through both protocols and is held
to the export's own `assets.extra/signature_contract.json` (names, exact dtypes,
shapes) and to direct Keras calls; errors must come back as ServingError (API) or
one line + exit 1 (CLI).
"""

import importlib.util
import io
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import (FakeTFServing, reference_labels, reference_z,  # noqa: E402
                             write_tiny_generator_export)

REPO = Path(__file__).resolve().parents[1]
CLIENT_PY = REPO / "serving" / "client.py"
_spec = importlib.util.spec_from_file_location("serving_client", CLIENT_PY)
client_lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client_lib)
Client, ServingError = client_lib.Client, client_lib.ServingError

PROTOCOLS = ["rest", "grpc"]
KINDS = ["uncond", "cond"]
ATOL = 1e-6  # served graph vs eager Keras call; REST vs gRPC must agree exactly


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{kind: namespace of write_tiny_generator_export} for both kinds."""
    base = tmp_path_factory.mktemp("serving")
    return {"uncond": write_tiny_generator_export(base / "uncond", num_classes=0),
            "cond": write_tiny_generator_export(base / "cond", num_classes=3)}


@pytest.fixture(scope="module")
def servers(exports):
    """{kind: FakeTFServing} with batching off (TF Serving's default)."""
    started = {kind: FakeTFServing(m.export_dir, model_name="generator", version=1).start()
               for kind, m in exports.items()}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def served(exports, servers):
    """(server, models) of the conditional export: it has every signature."""
    return servers["cond"], exports["cond"]


def make_client(server, protocol, **kwargs):
    kwargs.setdefault("model", "generator")
    return Client(host="127.0.0.1", rest_port=server.rest_port, grpc_port=server.grpc_port,
                  protocol=protocol, timeout=20, **kwargs)


def read_contract(models) -> dict:
    """The export's contract document: what the tests hold every answer to."""
    return json.loads(models.contract_path.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)))


def expected_pixels(samples: np.ndarray) -> np.ndarray:
    return np.round((samples[..., 0] + 1.0) * 127.5)  # (B, H, W), one channel


def assert_same(actual, expected, atol: float = 0.0):
    """Same type (ndarray), same dtype, same shape, same values (floats within atol)."""
    assert isinstance(actual, np.ndarray), type(actual)
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    if actual.dtype == object:
        assert actual.tolist() == expected.tolist()
    elif actual.dtype.kind == "f" and atol:
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=0)
    else:
        np.testing.assert_array_equal(actual, expected)


def contract_dtype(info) -> np.dtype:
    return np.dtype(object) if info["dtype"] == "string" else np.dtype(info["dtype"])


def assert_fits(array, info, what):
    """`array` has exactly the contract's dtype and a shape its shape allows."""
    assert array.dtype == contract_dtype(info), \
        f"{what}: {array.dtype}, the contract says {info['dtype']}"
    shape = info["shape"]
    assert len(array.shape) == len(shape) and all(
        d is None or d == s for d, s in zip(shape, array.shape)), \
        f"{what}: shape {array.shape}, the contract says {shape}"


def example_inputs(models, signature_doc, batch=3, seed=0) -> dict:
    """Valid inputs for a signature, made from its contract entry (dtype and shape)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, info in signature_doc["inputs"].items():
        rest = info["shape"][1:]
        if key == "truncation":  # thresholds t > 0
            out[key] = rng.uniform(0.1, 2.0, size=(batch,)).astype(np.float32)
        elif info["dtype"] == "float32":
            out[key] = rng.normal(size=(batch, *rest)).astype(np.float32)
        elif info["dtype"] == "int64":
            out[key] = np.array([5, 6, 2**40][:batch] + list(range(batch - 3)), np.int64)
        elif info["dtype"] == "int32":
            out[key] = (np.arange(batch) % models.num_classes).astype(np.int32)
        else:
            raise AssertionError(f"no example for {key}: {info}")
    return out


def reference_truncated_z(seeds, truncation, latent_dim) -> np.ndarray:
    """generate_truncated's z: N(0, I) truncated to [-t, t], one stateless draw from (seed, 2) each."""
    import tensorflow as tf
    return np.stack([tf.random.stateless_parameterized_truncated_normal(
        [latent_dim], tf.constant([int(s), 2], tf.int64), 0.0, 1.0, -float(t), float(t)).numpy()
        for s, t in zip(np.asarray(seeds).reshape(-1), np.asarray(truncation).reshape(-1))])


def reference_outputs(models, signature, inputs) -> dict:
    """What a signature must return, computed with the Keras generator."""
    if "z" in inputs:
        z = inputs["z"]
    elif "truncation" in inputs:
        z = reference_truncated_z(inputs["seeds"], inputs["truncation"], models.latent_dim)
    else:
        z = reference_z(inputs["seeds"]).astype(np.float32)
    labels = inputs.get("labels")
    if labels is None and models.num_classes:
        labels = reference_labels(inputs["seeds"], models.num_classes)
    samples = models.gan.samples(z, labels)
    out = {"samples": samples, "z": z}
    if labels is not None:
        out["labels"] = labels
    return out


# ------------------------------------------------------------------ the contract
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_signature_and_output_has_the_contract_dtype(exports, servers, kind,
                                                           protocol):
    models, server = exports[kind], servers[kind]
    contract = read_contract(models)
    with make_client(server, protocol) as client:
        for signature, sig in contract["signatures"].items():
            inputs = example_inputs(models, sig)
            out = client.predict(signature, inputs)
            assert sorted(out) == sorted(sig["outputs"]), signature
            want = reference_outputs(models, signature, inputs)
            for name, info in sig["outputs"].items():
                what = f"{kind} {protocol} {signature}.{name}"
                assert_fits(out[name], info, what)
                if name == "images_bytes":
                    for png, pixels in zip(out[name], expected_pixels(want["samples"])):
                        np.testing.assert_allclose(decode_png(png), pixels, atol=1)
                else:
                    assert_same(out[name], want[name], atol=ATOL)
            assert server.requests[-1] == (protocol, signature)


@pytest.mark.parametrize("kind", KINDS)
def test_rest_and_grpc_answers_are_identical(exports, servers, kind):
    models, server = exports[kind], servers[kind]
    with make_client(server, "rest") as rest, make_client(server, "grpc") as grpc_client:
        for signature, sig in read_contract(models)["signatures"].items():
            inputs = example_inputs(models, sig, batch=4, seed=1)
            a, b = rest.predict(signature, inputs), grpc_client.predict(signature, inputs)
            assert sorted(a) == sorted(b)
            for name in a:
                assert_same(a[name], b[name])  # dtype and every value, exactly


def test_conditional_generate_labels_are_int32_over_both_protocols(served):
    """The case the old hard-coded client copy got wrong: int64 over REST."""
    server, models = served
    assert read_contract(models)["signatures"]["generate"]["outputs"]["labels"] == {
        "dtype": "int32", "shape": [None]}
    seeds = [3, 4, 5]
    for protocol in PROTOCOLS:
        with make_client(server, protocol) as client:
            assert_same(client.generate(seeds)["labels"], reference_labels(seeds))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_contract_from_metadata_equals_the_exported_file(exports, servers, kind, protocol):
    models, server = exports[kind], servers[kind]
    from_file = read_contract(models)
    with make_client(server, protocol) as client:
        assert client.contract == from_file  # built from the server's metadata
    for source in (models.contract_path, models.export_dir, str(models.contract_path),
                   from_file):
        assert make_client(server, protocol, contract=source).contract == from_file
    assert not hasattr(client_lib, "CONTRACT")  # no copy of the contract in the client


def test_the_client_reads_the_format_the_exporter_writes():
    """The client cannot import tfgan_app; what it knows of the file format must agree."""
    from tfgan_app.export import contract as contract_lib
    assert client_lib.CONTRACT_FORMAT == contract_lib.FORMAT
    assert client_lib.CONTRACT_FILE == contract_lib.CONTRACT_FILE
    assert set(client_lib._NP) == set(contract_lib.DTYPES)
    doc = contract_lib.to_document(contract_lib.signature_contract(4, (2, 3, 1), 3))
    assert client_lib.check_contract(doc, "test") is doc


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_contract_comes_from_the_file_or_once_from_the_server(served, protocol):
    server, models = served
    before = len(server.metadata_requests)
    with make_client(server, protocol, contract=models.contract_path) as client:
        client.generate([1, 2])
        client.sample(np.zeros((1, models.latent_dim)), labels=[1])
    assert len(server.metadata_requests) == before  # the file was enough
    with make_client(server, protocol) as client:
        client.generate([1, 2])
        client.generate_png([1])
        client.predict("generate", {"seeds": np.array([3])})
    assert server.metadata_requests[before:] == [protocol]  # asked once, then cached


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_answers_that_break_the_contract_are_serving_errors(served, protocol):
    server, models = served
    doc = read_contract(models)
    wrong_names = json.loads(json.dumps(doc))
    del wrong_names["signatures"]["generate"]["outputs"]["z"]
    with make_client(server, protocol, contract=wrong_names) as client, \
            pytest.raises(ServingError, match=r"returned outputs \['labels', 'samples', 'z'\]"):
        client.generate([1])
    missing = json.loads(json.dumps(doc))
    del missing["signatures"]["generate_png"]
    with make_client(server, protocol, contract=missing) as client, \
            pytest.raises(ServingError, match="'generate_png' answered but is not in the "
                                              "contract"):
        client.generate_png([1])
    wrong_shape = json.loads(json.dumps(doc))
    wrong_shape["signatures"]["generate"]["outputs"]["z"]["shape"] = [None, 7]
    with make_client(server, protocol, contract=wrong_shape) as client, \
            pytest.raises(ServingError, match=r"generate output 'z' has shape \[1, 4\]"):
        client.generate([1])


def test_grpc_dtype_that_differs_from_the_contract_is_a_serving_error(served):
    server, models = served
    doc = read_contract(models)
    doc["signatures"]["generate"]["outputs"]["labels"]["dtype"] = "int64"
    with make_client(server, "grpc", contract=doc) as client, \
            pytest.raises(ServingError, match="generate output 'labels' is int32, the "
                                              "contract says int64"):
        client.generate([1])
    # REST has no integer widths: the contract's dtype is what comes back.
    with make_client(server, "rest", contract=doc) as client:
        assert client.generate([1])["labels"].dtype == np.int64


def test_unreadable_contracts_are_refused(served, tmp_path):
    server, _ = served
    with pytest.raises(client_lib.ContractError, match="does not exist"):
        make_client(server, "rest", contract=tmp_path / "nope.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "v0", "signatures": {}}))
    with pytest.raises(client_lib.ContractError, match="format 'v0'"):
        make_client(server, "rest", contract=tmp_path / "other.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(client_lib.ContractError, match="cannot read"):
        make_client(server, "rest", contract=tmp_path / "bad.json")


def test_rest_integers_that_do_not_fit_the_contract_dtype_are_refused(served):
    server, models = served
    doc = read_contract(models)
    doc["signatures"]["generate"]["outputs"]["z"]["dtype"] = "int32"  # z is fractional
    with make_client(server, "rest", contract=doc) as client, \
            pytest.raises(ServingError, match="generate output 'z': expected integers"):
        client.generate([1])


def test_inputs_are_cast_to_the_contract_dtypes_without_losing_values(served):
    server, models = served
    with make_client(server, "rest") as client:
        out = client.generate(np.array([7.0, 8.0]), labels=np.array([1, 2], np.int64))
        assert_same(out["z"], reference_z([7, 8]).astype(np.float32), atol=ATOL)
        assert server.requests[-1] == ("rest", "generate_conditional")
        with pytest.raises(ValueError, match="input 'seeds': expected integers"):
            client.generate([1.5])
        with pytest.raises(ValueError, match=r"input 'labels': values in \[0, 4294967296\] "
                                             "do not fit int32"):
            client.generate([1, 2], labels=[0, 2**32])


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_serving_default_matches_keras(exports, servers, protocol):
    models, server = exports["uncond"], servers["uncond"]
    z = np.random.default_rng(0).normal(size=(3, models.latent_dim)).astype(np.float32)
    with make_client(server, protocol) as client:
        samples = client.sample(z)
    assert samples.shape == (3, *models.image_shape)
    assert_same(samples, models.gan.samples(z), atol=ATOL)
    assert server.requests[-1] == (protocol, "serving_default")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_generate_matches_keras(exports, servers, kind, protocol):
    models, server = exports[kind], servers[kind]
    seeds = [5, 6, 1000]
    with make_client(server, protocol) as client:
        out = client.generate(seeds)
    z = reference_z(seeds).astype(np.float32)
    labels = reference_labels(seeds) if kind == "cond" else None
    assert sorted(out) == (["labels", "samples", "z"] if labels is not None
                           else ["samples", "z"])
    assert_same(out["z"], z, atol=ATOL)
    assert_same(out["samples"], models.gan.samples(z, labels), atol=ATOL)
    if labels is not None:
        assert_same(out["labels"], labels)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_generate_png_matches_keras(exports, servers, kind, protocol):
    models, server = exports[kind], servers[kind]
    seeds = [1, 2]
    with make_client(server, protocol) as client:
        pngs = client.generate_png(seeds)
    assert len(pngs) == 2 and all(isinstance(p, bytes) for p in pngs)
    labels = reference_labels(seeds) if kind == "cond" else None
    expected = expected_pixels(models.gan.samples(reference_z(seeds), labels))
    for png, want in zip(pngs, expected):
        np.testing.assert_allclose(decode_png(png), want, atol=1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_conditional_matches_keras(served, protocol):
    server, models = served
    z = np.random.default_rng(1).normal(size=(3, models.latent_dim)).astype(np.float32)
    labels = [2, 0, 1]
    with make_client(server, protocol) as client:
        samples = client.sample(z, labels=labels)
        assert server.requests[-1] == (protocol, "conditional")
        assert_same(client.predict("serving_default", {"z": z, "labels": np.int32(labels)})
                    ["samples"], samples)  # serving_default = conditional
    assert_same(samples, models.gan.samples(z, labels), atol=ATOL)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_generate_conditional_matches_keras(served, protocol):
    server, models = served
    seeds, labels = [9, 10], [1, 1]
    with make_client(server, protocol) as client:
        out = client.generate(seeds, labels=labels)
    assert sorted(out) == ["samples", "z"]
    z = reference_z(seeds).astype(np.float32)
    assert_same(out["z"], z, atol=ATOL)
    assert_same(out["samples"], models.gan.samples(z, labels), atol=ATOL)
    assert server.requests[-1] == (protocol, "generate_conditional")


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("kind", KINDS)
def test_generate_truncated_matches_keras(exports, servers, kind, protocol):
    models, server = exports[kind], servers[kind]
    seeds = [5, 6, 1000]
    with make_client(server, protocol) as client:
        out = client.generate_truncated(seeds, 0.5)  # one threshold for every seed
        per_seed = client.generate_truncated(seeds, [0.5, 0.5, 2.0])
    z = reference_truncated_z(seeds, [0.5] * 3, models.latent_dim)
    assert_same(out["z"], z, atol=ATOL)
    assert np.abs(out["z"]).max() <= 0.5
    labels = reference_labels(seeds) if kind == "cond" else None
    assert_same(out["samples"], models.gan.samples(z, labels), atol=ATOL)
    if labels is not None:
        assert_same(out["labels"], labels)
    assert_same(per_seed["z"][:2], out["z"][:2])
    assert np.abs(per_seed["z"][2] - out["z"][2]).max() > 0  # another t, another z


@pytest.mark.parametrize("truncation, needle", [(0.0, "> 0"), (-1.0, "> 0"), (float("nan"), "> 0"),
                                                (1e-50, "> 0 (as float32)"),  # 0 once sent as float32
                                                ("wide", "expected numbers > 0, got 'wide'"),
                                                ([0.5, 1.0], "2 thresholds for 3 seeds")])
def test_bad_truncation_is_refused_before_sending(served, truncation, needle):
    server, _ = served
    sent = len(server.requests)
    with make_client(server, "rest") as client, pytest.raises(ValueError, match=re.escape(needle)):
        client.generate_truncated([1, 2, 3], truncation)
    assert len(server.requests) == sent  # nothing reached the server


# ------------------------------------------------------------------ metadata
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metadata_lists_every_signature_def_and_the_summary_skips_the_init_op(served,
                                                                              protocol):
    server, models = served
    with make_client(server, protocol) as client:
        meta = client.metadata()
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    # TF Serving copies the MetaGraphDef's whole map, TF's init op included.
    assert set(sigs) == set(read_contract(models)["signatures"]) | {"__saved_model_init_op"}
    assert sigs["generate_png"]["outputs"]["images_bytes"]["dtype"] == "DT_STRING"
    assert sigs["conditional"]["inputs"]["labels"]["dtype"] == "DT_INT32"
    summary = client_lib.summarize_signatures(meta).splitlines()
    assert "conditional(labels: int32[?], z: float32[?,4]) -> samples: float32[?,2,3,1]" \
        in summary
    assert "generate(seeds: int64[?]) -> labels: int32[?], samples: float32[?,2,3,1], " \
           "z: float32[?,4]" in summary
    assert "generate_truncated(seeds: int64[?], truncation: float32[?]) -> labels: int32[?], " \
           "samples: float32[?,2,3,1], z: float32[?,4]" in summary
    assert len(summary) == 6 and not any("__saved_model_init_op" in s for s in summary)


def test_rest_metadata_prints_default_fields_like_tf_serving(served):
    """http_rest_api_util.cc prints with always_print_primitive_fields: sizes are strings."""
    server, _ = served
    url = f"http://127.0.0.1:{server.rest_port}/v1/models/generator/metadata"
    with urllib.request.urlopen(url, timeout=20) as resp:
        sigs = json.loads(resp.read())["metadata"]["signature_def"]["signature_def"]
    init = sigs["__saved_model_init_op"]
    assert init["inputs"] == {} and init["method_name"] == ""
    assert init["outputs"]["__saved_model_init_op"]["dtype"] == "DT_INVALID"
    assert sigs["serving_default"]["inputs"]["z"]["tensor_shape"]["dim"][0]["size"] == "-1"


def test_rest_wire_format_drops_single_output_names_and_base64_encodes_bytes(served):
    """What the client must parse (TF Serving's json_tensor rules, as the double follows)."""
    server, _ = served
    url = f"http://127.0.0.1:{server.rest_port}/v1/models/generator/versions/1:predict"

    def post(body):
        req = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=20) as resp:
            return json.loads(resp.read())

    single = post({"signature_name": "generate_png", "inputs": {"seeds": [1, 2]}})
    assert isinstance(single["outputs"], list) and set(single["outputs"][0]) == {"b64"}
    double = post({"signature_name": "generate", "inputs": {"seeds": [1]}})
    assert sorted(double["outputs"]) == ["labels", "samples", "z"]
    rows = post({"signature_name": "conditional",
                 "instances": [{"z": [0.0] * 4, "labels": 1}, {"z": [1.0] * 4, "labels": 2}]})
    assert len(rows["predictions"]) == 2 and np.shape(rows["predictions"][0]) == (2, 3, 1)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("protocol, status", [("rest", 400), ("grpc", "FAILED_PRECONDITION")])
def test_unknown_signature_is_a_serving_error(served, protocol, status):
    server, _ = served
    with make_client(server, protocol) as client, pytest.raises(ServingError) as err:
        client.predict("sample", {"z": np.zeros((1, 4), np.float32)})
    assert err.value.status == status
    assert '"sample"' in err.value.message and "not found" in err.value.message


@pytest.mark.parametrize("protocol, status, fragment", [
    ("rest", 400, "is not of expected type: int64"),
    ("grpc", "INVALID_ARGUMENT", "to be int64 but float64 is provided"),
])
def test_wrong_dtype_is_a_serving_error(served, protocol, status, fragment):
    server, _ = served
    with make_client(server, protocol) as client, pytest.raises(ServingError) as err:
        client.predict("generate", {"seeds": np.array([1.5, 2.0])})
    assert err.value.status == status
    assert fragment in err.value.message


@pytest.mark.parametrize("protocol, status", [("rest", 400), ("grpc", "INVALID_ARGUMENT")])
@pytest.mark.parametrize("kind", KINDS)
def test_wrong_latent_width_is_invalid_argument_not_a_dropped_connection(
        exports, servers, kind, protocol, status):
    """TF Serving does not check shapes itself: the graph's MatMul refuses the z."""
    models, server = exports[kind], servers[kind]
    z = np.zeros((2, models.latent_dim + 1), np.float32)
    labels = [0, 1] if kind == "cond" else None
    with make_client(server, protocol) as client:
        with pytest.raises(ServingError) as err:
            client.sample(z, labels=labels)
        assert err.value.status == status
        assert "Matrix size-incompatible" in err.value.message
        with pytest.raises(ServingError) as err:  # seeds of rank 2: the map_fn refuses
            client.predict("generate", {"seeds": np.array([[1], [2]])})
        assert err.value.status == status
        assert client.generate([1])["samples"].shape == (1, *models.image_shape)  # still up


def test_wrong_latent_width_over_rest_is_http_400_with_a_json_error(served):
    server, models = served
    url = f"http://127.0.0.1:{server.rest_port}/v1/models/generator:predict"
    body = {"signature_name": "conditional",
            "inputs": {"z": [[0.0] * (models.latent_dim + 1)], "labels": [0]}}
    req = urllib.request.Request(url, json.dumps(body).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=20)
    assert err.value.code == 400
    assert err.value.headers["Content-Type"] == "application/json"
    doc = json.loads(err.value.read())
    assert list(doc) == ["error"] and "Matrix size-incompatible" in doc["error"]


@pytest.mark.parametrize("protocol, status", [("rest", 400), ("grpc", "INVALID_ARGUMENT")])
def test_graph_assert_is_a_serving_error(served, protocol, status):
    server, models = served
    with make_client(server, protocol) as client, pytest.raises(ServingError) as err:
        client.generate([1, 2], labels=[0, models.num_classes])
    assert err.value.status == status
    assert "labels must be class indices in [0, 3)" in err.value.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_without_batching_there_is_no_batch_cap(served, protocol):
    server, models = served
    assert not server.enable_batching
    with make_client(server, protocol) as client:
        out = client.generate(list(range(300)))  # > 256, batching_parameters' cap
    assert out["samples"].shape == (300, *models.image_shape)


@pytest.mark.parametrize("protocol, status", [("rest", 400), ("grpc", "INVALID_ARGUMENT")])
def test_with_batching_a_batch_over_max_batch_size_is_refused(exports, protocol, status):
    models = exports["uncond"]
    with FakeTFServing(models.export_dir, enable_batching=True, max_batch_size=8) as server, \
            make_client(server, protocol) as client:
        assert client.generate(list(range(8)))["z"].shape == (8, models.latent_dim)
        with pytest.raises(ServingError) as err:
            client.generate(list(range(9)))
    assert err.value.status == status
    assert "Task size 9 is larger than maximum input batch size 8" in err.value.message


@pytest.mark.parametrize("protocol, status", [("rest", 404), ("grpc", "NOT_FOUND")])
def test_unknown_model_is_a_serving_error(served, protocol, status):
    server, _ = served
    with make_client(server, protocol, model="discriminator") as client, \
            pytest.raises(ServingError) as err:
        client.generate([1])
    assert err.value.status == status
    assert "Servable not found for request: Latest(discriminator)" in err.value.message


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_connection_refused_says_how_to_start_serving(protocol):
    port = free_port()
    client = Client(host="127.0.0.1", rest_port=port, grpc_port=port, protocol=protocol,
                    timeout=10)
    with client, pytest.raises(ServingError) as err:
        client.generate([1])
    assert err.value.status is None
    assert f"no TF Serving is listening at 127.0.0.1:{port}" in err.value.message
    assert "docker compose -f serving/docker-compose.yml up" in err.value.message


def test_labels_must_match_the_batch(served):
    server, _ = served
    with make_client(server, "rest") as client, pytest.raises(ValueError, match="labels"):
        client.generate([1, 2, 3], labels=[0])


# ------------------------------------------------------------------ CLI
def run_cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, str(CLIENT_PY), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, env=env)


def test_cli_png_writes_one_decodable_file_per_seed(exports, servers, tmp_path):
    models, server = exports["uncond"], servers["uncond"]
    proc = run_cli("--host", "127.0.0.1", "--rest-port", server.rest_port,
                   "--model", "generator", "--protocol", "rest",
                   "--contract", models.export_dir,
                   "png", "--seeds", 3, 4, "--out-dir", tmp_path / "pngs")
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "pngs").iterdir())
    assert [f.name for f in files] == ["seed_3.png", "seed_4.png"]
    expected = expected_pixels(models.gan.samples(reference_z([3, 4])))
    for f, want in zip(files, expected):
        pixels = decode_png(f.read_bytes())
        assert pixels.shape == models.image_shape[:2]
        np.testing.assert_allclose(pixels, want, atol=1)


def test_cli_generate_prints_contract_dtypes_and_saves(served, tmp_path):
    server, models = served
    common = ("--host", "127.0.0.1", "--rest-port", server.rest_port)
    proc = run_cli(*common, "generate", "--seeds", 1, 2, "--save", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    assert "labels: shape=[2] dtype=int32" in proc.stdout  # REST JSON, cast back to int32
    assert "samples: shape=[2, 2, 3, 1] dtype=float32" in proc.stdout
    saved = np.load(tmp_path / "out.npz")
    assert_same(saved["z"], reference_z([1, 2]).astype(np.float32), atol=ATOL)
    assert_same(saved["labels"], reference_labels([1, 2]))
    proc = run_cli(*common, "--contract", models.contract_path, "generate", "--seeds", 1, 2,
                   "--labels", 0, 2)
    assert proc.returncode == 0, proc.stderr
    assert "samples: shape=[2, 2, 3, 1] dtype=float32" in proc.stdout


def test_cli_metadata_and_contract(served):
    server, models = served
    common = ("--host", "127.0.0.1", "--rest-port", server.rest_port)
    proc = run_cli(*common, "metadata")
    assert proc.returncode == 0, proc.stderr
    assert "generate_png(seeds: int64[?]) -> images_bytes: string[?]" in proc.stdout
    assert "__saved_model_init_op" not in proc.stdout
    proc = run_cli(*common, "contract")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == read_contract(models)


def test_cli_server_error_is_one_line_and_exit_1(served):
    server, _ = served
    proc = run_cli("--host", "127.0.0.1", "--rest-port", server.rest_port,
                   "--model", "nope", "generate", "--seeds", 1)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and "Servable not found" in proc.stderr


def test_cli_missing_contract_is_one_line_and_exit_1(served, tmp_path):
    server, _ = served
    proc = run_cli("--host", "127.0.0.1", "--rest-port", server.rest_port,
                   "--contract", tmp_path / "nope", "generate", "--seeds", 1)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"error: --contract {tmp_path / 'nope'}: ")


def test_cli_connection_refused_is_one_line_and_exit_1():
    port = free_port()
    proc = run_cli("--host", "127.0.0.1", "--rest-port", port, "png", "--seeds", 1,
                   "--out-dir", "unused")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert f"no TF Serving is listening at 127.0.0.1:{port}" in proc.stderr
    assert "docker compose" in proc.stderr


# ------------------------------------------------------------------ config files
def test_serving_config_files_agree():
    import re

    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    serving = REPO / "serving"
    config = text_format.Parse((serving / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    [model] = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "generator", "/models/generator", "tensorflow")

    batching = (serving / "batching_parameters.txt").read_text()
    max_batch = int(re.search(r"max_batch_size \{ value: (\d+) \}", batching).group(1))
    allowed = [int(v) for v in re.findall(r"^allowed_batch_sizes: (\d+)$", batching, re.M)]
    assert max_batch == 256
    assert allowed == sorted(set(allowed)) and allowed[-1] == max_batch  # TF Serving's rule

    compose = (serving / "docker-compose.yml").read_text()
    assert "image: tensorflow/serving:2.21.0" in compose
    assert "- ../exports:/models:ro" in compose
    for name in ("models.config", "batching_parameters.txt"):
        assert f"- ./{name}:/config/{name}:ro" in compose
        assert f"=/config/{name}" in compose
    assert "--enable_batching=true" in compose
