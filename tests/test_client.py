"""serving/client.py against FakeTFServing (a test double) serving a tiny contract export.

Every signature goes through both protocols and is compared with direct Keras calls;
errors must come back as ServingError (API) or one line + exit 1 (CLI).
"""

import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_tf_serving import FakeTFServing, reference_z, write_tiny_generator_export  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIENT_PY = REPO / "serving" / "client.py"
_spec = importlib.util.spec_from_file_location("serving_client", CLIENT_PY)
client_lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client_lib)
Client, ServingError = client_lib.Client, client_lib.ServingError

PROTOCOLS = ["rest", "grpc"]
ATOL = 1e-6  # float32 through JSON text round-trips exactly; this is headroom only


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    export_dir = tmp_path_factory.mktemp("serving") / "generator" / "1"
    models = write_tiny_generator_export(export_dir)
    with FakeTFServing(export_dir, model_name="generator", version=1,
                       max_batch_size=8) as server:
        yield server, models


def make_client(server, protocol, **kwargs):
    kwargs.setdefault("model", "generator")
    return Client(host="127.0.0.1", rest_port=server.rest_port, grpc_port=server.grpc_port,
                  protocol=protocol, timeout=20, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def decode_png(data: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)))


def expected_pixels(samples: np.ndarray) -> np.ndarray:
    return np.round((samples[..., 0] + 1.0) * 127.5)  # (B, H, W), one channel


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_serving_default_matches_keras(served, protocol):
    server, models = served
    z = np.random.default_rng(0).normal(size=(3, models.latent_dim)).astype(np.float32)
    with make_client(server, protocol) as client:
        samples = client.sample(z)
    assert samples.dtype == np.float32 and samples.shape == (3, *models.image_shape)
    np.testing.assert_allclose(samples, models.generator(z).numpy(), atol=ATOL)
    assert server.requests[-1] == (protocol, "serving_default")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_generate_matches_keras(served, protocol):
    server, models = served
    seeds = [5, 6, 1000]
    with make_client(server, protocol) as client:
        out = client.generate(seeds)
    assert sorted(out) == ["samples", "z"]
    np.testing.assert_allclose(out["z"], reference_z(seeds), atol=ATOL)
    np.testing.assert_allclose(out["samples"], models.generator(reference_z(seeds)).numpy(),
                               atol=ATOL)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_generate_png_matches_keras(served, protocol):
    server, models = served
    seeds = [1, 2]
    with make_client(server, protocol) as client:
        pngs = client.generate_png(seeds)
    assert len(pngs) == 2 and all(isinstance(p, bytes) for p in pngs)
    expected = expected_pixels(models.generator(reference_z(seeds)).numpy())
    for png, want in zip(pngs, expected):
        np.testing.assert_allclose(decode_png(png), want, atol=1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_conditional_matches_keras(served, protocol):
    server, models = served
    z = np.random.default_rng(1).normal(size=(3, models.latent_dim)).astype(np.float32)
    labels = [2, 0, 1]
    with make_client(server, protocol) as client:
        samples = client.sample(z, labels=labels)
    expected = models.conditional_generator([z, np.array(labels, np.int32)]).numpy()
    np.testing.assert_allclose(samples, expected, atol=ATOL)
    assert server.requests[-1] == (protocol, "conditional")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_generate_conditional_matches_keras(served, protocol):
    server, models = served
    seeds, labels = [9, 10], [1, 1]
    with make_client(server, protocol) as client:
        out = client.generate(seeds, labels=labels)
    np.testing.assert_allclose(out["z"], reference_z(seeds), atol=ATOL)
    expected = models.conditional_generator([reference_z(seeds),
                                             np.array(labels, np.int32)]).numpy()
    np.testing.assert_allclose(out["samples"], expected, atol=ATOL)
    assert server.requests[-1] == (protocol, "generate_conditional")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metadata_lists_the_contract(served, protocol):
    server, _ = served
    with make_client(server, protocol) as client:
        meta = client.metadata()
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    assert set(client_lib.CONTRACT) <= set(sigs)
    assert sigs["generate_png"]["outputs"]["images_bytes"]["dtype"] == "DT_STRING"
    assert sigs["conditional"]["inputs"]["labels"]["dtype"] == "DT_INT32"
    summary = client_lib.summarize_signatures(meta)
    assert "conditional(labels: int32[?], z: float32[?,4]) -> samples: float32[?,2,3,1]" \
        in summary.splitlines()


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
    assert sorted(double["outputs"]) == ["samples", "z"]
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
def test_graph_assert_and_batch_cap_are_serving_errors(served, protocol, status):
    server, models = served
    with make_client(server, protocol) as client:
        with pytest.raises(ServingError) as err:
            client.generate([1, 2], labels=[0, models.num_classes])
        assert err.value.status == status and "labels must be < 3" in err.value.message
        with pytest.raises(ServingError) as err:
            client.generate(list(range(9)))
        assert err.value.status == status
        assert "larger than maximum input batch size 8" in err.value.message


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


def test_cli_png_writes_one_decodable_file_per_seed(served, tmp_path):
    server, models = served
    proc = run_cli("--host", "127.0.0.1", "--rest-port", server.rest_port,
                   "--model", "generator", "--protocol", "rest",
                   "png", "--seeds", 3, 4, "--out-dir", tmp_path / "pngs")
    assert proc.returncode == 0, proc.stderr
    files = sorted((tmp_path / "pngs").iterdir())
    assert [f.name for f in files] == ["seed_3.png", "seed_4.png"]
    expected = expected_pixels(models.generator(reference_z([3, 4])).numpy())
    for f, want in zip(files, expected):
        pixels = decode_png(f.read_bytes())
        assert pixels.shape == models.image_shape[:2]
        np.testing.assert_allclose(pixels, want, atol=1)


def test_cli_generate_and_metadata(served, tmp_path):
    server, models = served
    common = ("--host", "127.0.0.1", "--rest-port", server.rest_port)
    proc = run_cli(*common, "generate", "--seeds", 1, 2, "--labels", 0, 2,
                   "--save", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    assert "samples: shape=[2, 2, 3, 1] dtype=float32" in proc.stdout
    saved = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(saved["z"], reference_z([1, 2]), atol=ATOL)
    proc = run_cli(*common, "metadata")
    assert proc.returncode == 0, proc.stderr
    assert "generate_png(seeds: int64[?]) -> images_bytes: string[?]" in proc.stdout


def test_cli_server_error_is_one_line_and_exit_1(served):
    server, _ = served
    proc = run_cli("--host", "127.0.0.1", "--rest-port", server.rest_port,
                   "--model", "nope", "generate", "--seeds", 1)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and "Servable not found" in proc.stderr


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
