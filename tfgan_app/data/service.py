"""tf.data service: prepared TFRecords read and decoded by other machines, batches sent to the trainers.

    python -m tfgan_app.data.service dispatcher --port 5050 [--work-dir DIR]
    python -m tfgan_app.data.service worker --dispatcher HOST:5050 [--port 5051] [--worker-address HOST:5051]
    train.py ... --dataset tfrecords:DIR --data-service grpc://HOST:5050

TensorFlow's own distributed input engine (`tf.data.experimental.service`): the dispatcher
hands out work, the workers run the input pipeline -- read the shards, shuffle, batch,
decode -- and the trainers only receive uint8 batches (converted to floats there: 4x less
to send).  The dispatcher and workers need TensorFlow, not this project (the pipeline is
sent to them as a graph), but they read the shards at the paths the trainers see
(shared storage, e.g. gs:// or NFS).

What the service guarantees, and what it does not (ShardingPolicy.DYNAMIC):
  - each shard of each data epoch is read once, by whichever worker asks first: every record
    is delivered once per epoch while no worker restarts (at most once when one does);
  - the order is not reproducible: it depends on which worker is faster;
  - a resumed run starts again at the data epoch its first batch falls in, and its batches
    differ from an uninterrupted run's.  Exact order and exact resume hold without the
    service (streaming.py), not with it.

TensorFlow blocks for up to an hour, or for ever, on a dispatcher that is not there (its
client retries `GetOrCreateJob` without a deadline), so `probe` checks the address first, in
bounded time: something listens, it answers as a dispatcher, and at least one worker has
registered with it.
"""

from __future__ import annotations

import dataclasses
import signal
import socket
import sys
import time

import grpc  # TensorFlow's own dependency
import tensorflow as tf

from tfgan_app.cli import ArgumentParser
from tfgan_app.data import records, streaming
from tfgan_app.data.errors import DataError

DISPATCHER_SERVICE = "/tensorflow.data.DispatcherService/"


def host_port(address: str) -> tuple[str, int]:
    """'grpc://HOST:PORT' or 'HOST:PORT' -> (HOST, PORT).

    Raises:
      DataError: naming --data-service, for anything else.
    """
    text = str(address)
    rest = text[len("grpc://"):] if text.startswith("grpc://") else text
    host, colon, port = rest.rpartition(":")
    if not colon or not host or not port.isdecimal() or not 0 < int(port) < 65536 or "/" in rest:
        raise DataError(f"--data-service {address!r}: expected grpc://HOST:PORT (the tf.data service dispatcher)")
    return host.strip("[]"), int(port)


def _count_field(message: bytes, field: int) -> int:
    """How many times a length-delimited `field` occurs in a serialized protobuf message."""
    count, i = 0, 0

    def varint():
        nonlocal i
        value, shift = 0, 0
        while True:
            byte = message[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < len(message):
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 0:
            varint()
        elif kind == 1:
            i += 8
        elif kind == 5:
            i += 4
        elif kind == 2:
            length = varint()
            i += length
            count += number == field
        else:
            raise ValueError(f"wire type {kind}")
    return count


def probe(address: str, timeout: float) -> int:
    """Checks, within about `timeout` seconds, that a tf.data dispatcher with at least one worker
    answers at `address`; returns the number of workers registered with it.

    Raises:
      DataError: naming --data-service: nothing listens there, it is not a dispatcher, or no
        worker registered within the timeout.
    """
    host, port = host_port(address)
    deadline = time.monotonic() + timeout
    try:
        socket.create_connection((host, port), timeout=max(0.5, min(5.0, timeout))).close()
    except OSError as e:
        raise DataError(f"--data-service {address}: nothing listens at {host}:{port} ({e.strerror or e}); start the "
                        f"dispatcher with `python -m tfgan_app.data.service dispatcher --port {port}`") from None
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 host keeps its brackets
    with grpc.insecure_channel(target) as channel:
        def call(method):
            return channel.unary_unary(DISPATCHER_SERVICE + method)(b"", timeout=max(0.5, deadline - time.monotonic()))

        try:
            call("GetVersion")
        except grpc.RpcError as e:
            raise DataError(f"--data-service {address}: {host}:{port} is not a tf.data service dispatcher "
                            f"({e.code().name}); expected the address `python -m tfgan_app.data.service "
                            f"dispatcher` printed") from None
        while True:
            try:
                workers = _count_field(call("GetWorkers"), 1)
            except grpc.RpcError as e:
                raise DataError(f"--data-service {address}: the dispatcher did not answer ({e.code().name})") from None
            if workers:
                return workers
            if time.monotonic() >= deadline:
                raise DataError(f"--data-service {address}: the dispatcher has no workers after {timeout:g} s; start "
                                f"one with `python -m tfgan_app.data.service worker --dispatcher {host}:{port}`")
            time.sleep(0.2)


@dataclasses.dataclass(frozen=True)
class ServiceStream:
    """Where a run's batches come from when a tf.data service reads them."""
    address: str                    # grpc://HOST:PORT
    description: records.Description
    seed: int
    window: int


def uint8_batches(stream: ServiceStream, *, batch_size: int, first_epoch: int, epochs: int) -> tf.data.Dataset:
    """The pipeline the service's workers run: the shards of data epochs first_epoch ..
    first_epoch + epochs - 1, each epoch's in its seeded order (the splits the dispatcher hands
    out, one file at a time), read C at a time, shuffled in windows, batched and decoded.

    Returns:
      a finite dataset of (images uint8 (B, H, W, C), labels int32 (B,)); each service worker
      drops its own last partial batch.
    """
    description = stream.description
    files = tf.constant(description.paths())
    order = tf.concat([tf.gather(files, streaming.shard_order(description, e, seed=stream.seed))
                       for e in range(first_epoch, first_epoch + epochs)], 0)  # (epochs * S,)
    cycle = min(streaming.CYCLE, len(description.shards))
    ds = (tf.data.Dataset.from_tensor_slices(order)
          .interleave(tf.data.TFRecordDataset, cycle_length=cycle, block_length=1, num_parallel_calls=cycle)
          .shuffle(stream.window)  # order is the service's anyway: no seed to keep
          .batch(int(batch_size), drop_remainder=True))
    return ds.map(lambda serialized: records.parse(serialized, description), num_parallel_calls=tf.data.AUTOTUNE)


def batches(stream: ServiceStream, *, batch_size: int, first_epoch: int, epochs: int,
            job_name: str) -> tf.data.Dataset:
    """Batches read through the service, the job shared by every consumer that names `job_name`
    (the workers of one multi-worker run; a name must not be used twice on one service).

    Returns:
      a finite dataset of (images float32 (B, H, W, C) in [-1, 1], labels int32 (B,)).
    """
    pipeline = uint8_batches(stream, batch_size=batch_size, first_epoch=first_epoch, epochs=epochs)
    dataset_id = tf.data.experimental.service.register_dataset(stream.address, pipeline, dataset_id=job_name)
    ds = tf.data.experimental.service.from_dataset_id(
        tf.data.experimental.service.ShardingPolicy.DYNAMIC, stream.address, dataset_id,
        element_spec=pipeline.element_spec, job_name=job_name)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32) / 127.5 - 1.0, y)).prefetch(tf.data.AUTOTUNE)


# --- the servers ------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m tfgan_app.data.service", description=__doc__)
    sub = p.add_subparsers(dest="role", required=True)
    d = sub.add_parser("dispatcher", help="hands out the work of every job")
    d.add_argument("--port", type=int, default=5050, help="default 5050")
    d.add_argument("--work-dir", default="", help="journal the dispatcher's state here (restarts resume jobs)")
    w = sub.add_parser("worker", help="runs the input pipelines the dispatcher hands out")
    w.add_argument("--dispatcher", required=True, help="HOST:PORT of the dispatcher")
    w.add_argument("--port", type=int, default=0, help="default: any free port")
    w.add_argument("--worker-address", default="", help="HOST:PORT the trainers reach this worker at "
                   "(default localhost:PORT: right only on the trainers' machine)")
    w.add_argument("--workers", type=int, default=1, help="workers in this process (tests; default 1)")
    args = p.parse_args(argv)
    service = tf.data.experimental.service
    if args.role == "dispatcher":
        config = service.DispatcherConfig(port=args.port, work_dir=args.work_dir or None,
                                          fault_tolerant_mode=bool(args.work_dir))
        servers = [service.DispatchServer(config)]
        print(f"dispatcher at grpc://{socket.gethostname()}:{args.port} (train with --data-service "
              f"grpc://HOST:{args.port})", flush=True)
    else:
        host, port = host_port(args.dispatcher)
        if args.workers < 1 or (args.workers > 1 and (args.port or args.worker_address)):
            p.error("--workers N > 1 takes no --port or --worker-address (each picks a free port)")
        servers = [service.WorkerServer(service.WorkerConfig(
            dispatcher_address=f"{host}:{port}", port=args.port,
            worker_address=args.worker_address or None)) for _ in range(args.workers)]
        print(f"{len(servers)} worker(s) of the dispatcher at {host}:{port}", flush=True)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    while not stopping:  # not server.join(): Python's signal handlers would wait for it, for ever
        time.sleep(0.2)
    for server in servers:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
