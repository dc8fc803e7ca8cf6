"""service.py: a local tf.data service (a dispatcher and two workers on 127.0.0.1) feeding a run,
and the bounded refusals of a dispatcher that is not there."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO
from tfgan_app import config as cfg
from tfgan_app.data import DataError, prepare, service, streaming
from tfgan_app.training import train as training

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
           PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_addresses_and_the_wire_count():
    assert service.host_port("grpc://10.0.0.7:5050") == ("10.0.0.7", 5050)
    assert service.host_port("localhost:1") == ("localhost", 1)
    for bad in ("grpc://host", "http://h:1/x", "h:0", "h:port", ":5050"):
        with pytest.raises(DataError, match="--data-service .*expected grpc://HOST:PORT"):
            service.host_port(bad)
    # GetWorkersResponse: field 1 (WorkerInfo, length-delimited) twice, around a varint field 2.
    message = bytes([0x0A, 2, 0x0A, 0x00, 0x10, 0x96, 0x01, 0x0A, 0])
    assert service._count_field(message, 1) == 2 and service._count_field(message, 2) == 0


def test_a_missing_dispatcher_is_refused_in_bounded_time():
    start = time.monotonic()
    with pytest.raises(DataError, match="nothing listens at 127.0.0.1:"):
        service.probe(f"grpc://127.0.0.1:{free_port()}", timeout=2)
    with socket.socket() as listener:  # something listens, but it is not a dispatcher
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with pytest.raises(DataError, match="is not a tf.data service dispatcher"):
            service.probe(f"grpc://127.0.0.1:{listener.getsockname()[1]}", timeout=2)
    port = free_port()
    dispatcher = tf.data.experimental.service.DispatchServer(tf.data.experimental.service.DispatcherConfig(port=port))
    try:
        with pytest.raises(DataError, match="the dispatcher has no workers after 1 s"):
            service.probe(f"grpc://127.0.0.1:{port}", timeout=1)
    finally:
        dispatcher.stop()
    assert time.monotonic() - start < 20  # TF's own client would wait an hour


def start(log, *args):
    return subprocess.Popen([sys.executable, "-m", "tfgan_app.data.service", *args], cwd=REPO, env=ENV,
                            stdout=log, stderr=log, start_new_session=True)


def stop(procs) -> list:
    """Ends the servers: SIGTERM (they stop and exit 0), else, after 20 s, SIGKILL (our own pids only)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=20))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            codes.append(p.wait(timeout=10))
    return codes


def test_a_local_service_delivers_every_record_once_an_epoch_and_feeds_a_run(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), y=np.arange(40) % 4)
    prepare.prepare(f"npz:{tmp_path / 'd.npz'}", tmp_path / "rec", shards=4)
    port = free_port()
    log = open(tmp_path / "servers.log", "w")
    procs = [start(log, "dispatcher", "--port", str(port))]
    try:
        procs.append(start(log, "worker", "--dispatcher", f"127.0.0.1:{port}", "--workers", "2"))
        address = f"grpc://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # the dispatcher and both workers come up
            try:
                if service.probe(address, timeout=1) == 2:
                    break
            except DataError:
                pass
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                (tmp_path / "servers.log").read_text()[-3000:]
            time.sleep(0.5)

        # Two data epochs read to the end through the service: each record exactly twice.
        description = streaming.open_images(f"tfrecords:{tmp_path / 'rec'}")
        stream = service.ServiceStream(address, description, seed=0, window=8)
        got = list(service.batches(stream, batch_size=1, first_epoch=0, epochs=2, job_name="test-all"))
        counts = Counter(x.numpy().tobytes() for x, _ in got)
        assert len(got) == 80 and len(counts) == 40 and set(counts.values()) == {2}
        labels = {x.numpy().tobytes(): int(y[0]) for x, y in got}
        with np.load(tmp_path / "d.npz") as f:
            expected = {(a.astype(np.float32)[..., None] / 127.5 - 1).tobytes(): int(b) for a, b in zip(f["x"], f["y"])}
        assert labels == expected  # pixels and labels as written

        # A run reads its batches through the service, in the job named in its run directory.
        jobs = []
        read = service.batches
        monkeypatch.setattr(service, "batches", lambda *a, **k: jobs.append(k) or read(*a, **k))
        config = cfg.preset("dcgan", dataset=f"tfrecords:{tmp_path / 'rec'}", width=4, latent_dim=8, batch_size=4,
                            steps_per_epoch=3, epochs=2, data_service=address, worker_timeout=30)
        result = training.train(config, tmp_path / "run", verbose=0)
        assert int(result.gan.g_optimizer.iterations) == 6
        # 24 records of 40: data epoch 0 alone, and one more for the workers' partial batches.
        assert [(k["job_name"], k["first_epoch"], k["epochs"], k["batch_size"]) for k in jobs] == [
            ((tmp_path / "run" / "data_service_job").read_text().strip(), 0, 2, 4)]
    finally:
        codes = stop(procs)
        log.close()
    assert codes == [0, 0]  # SIGTERM stops the servers (no SIGKILL needed)


def test_the_service_needs_streamed_records():
    with pytest.raises(cfg.ConfigError, match="--data-service: expected grpc://HOST:PORT .* with --dataset tfrecords"):
        cfg.preset("dcgan", dataset="tfds:mnist", data_service="grpc://h:1").validate()
