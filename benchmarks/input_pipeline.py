"""W6 `input-pipeline` (docs/benchmarks.md): streamed TFRecords against what training consumes.

Writes seeded synthetic 64 px RGB datasets of each --sizes (smooth colour fields plus noise,
made in TF ops and written in chunks: the generator never holds a dataset) with
`records.write`, then, each in a fresh child process:

  - streams one whole epoch through `streaming.image_batches` (the `tfrecords:` source train.py
    uses, batch --batch-size, window --shuffle-buffer) and reports images/s delivered after the
    first batch, and the child's peak resident memory (`wait4`'s ru_maxrss: the whole process,
    TensorFlow included);
  - opens the stream at the epoch's last full batch (about a resumed run's worst case) and times
    the first batch: the cost of skipping (N // B - 1) * B records;
  - trains the `dcgan-celeba` preset (64 px RGB, batch 128) on a fixed batch for --train-steps
    steps: the images/s a DCGAN at 64 px consumes on this machine.

The shards are written once into --workdir and reused.  tf.data's autotuner is bounded
(`autotune.ram_budget` = --ram-budget) so its buffers cannot grow with free memory and the
figure repeats.  Memory must stay flat as the dataset grows: rss_ratio = peak RSS at the
largest size / at the smallest (target <= 1.10).

    python benchmarks/input_pipeline.py [--sizes 20000,200000] [--workdir /tmp/w6]

Last line: `img/s=<largest size> dcgan64_img/s=<consumed> headroom=<img/s / dcgan64_img/s>
rss_MB=<smallest>,<largest> rss_ratio=<largest/smallest> skip_s=<largest> data_MB=<largest>`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SIZE = 64  # image side: the dcgan-celeba preset's


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="20000,200000", help="dataset sizes, comma separated (default 20000,200000)")
    p.add_argument("--workdir", default="/tmp/tfgan_w6", help="where the shards are written (and reused)")
    p.add_argument("--shards", type=int, default=64, help="shards per dataset (default 64)")
    p.add_argument("--batch-size", type=int, default=128, help="default 128 (dcgan-celeba's)")
    p.add_argument("--shuffle-buffer", type=int, default=4096, help="the stream's window K (default 4096)")
    p.add_argument("--ram-budget", type=int, default=512, help="tf.data autotune RAM budget, MB (default 512)")
    p.add_argument("--train-steps", type=int, default=10, help="timed dcgan-celeba steps (default 10)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def synthetic(n: int, seed: int = 0):
    """n seeded 64x64x3 uint8 images: a 4x4 colour field resized smoothly, plus pixel noise (TF ops)."""
    import tensorflow as tf

    def image(i):
        coarse = tf.random.stateless_uniform([4, 4, 3], [seed, i], 0.0, 255.0)
        smooth = tf.image.resize(coarse[None], (SIZE, SIZE), method="bicubic")[0]
        noise = tf.random.stateless_normal([SIZE, SIZE, 3], [seed + 1, i], 0.0, 12.0)
        return tf.cast(tf.clip_by_value(tf.round(smooth + noise), 0, 255), tf.uint8), tf.constant(-1, tf.int32)

    return tf.data.Dataset.range(n).map(image, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def ensure_dataset(workdir: Path, n: int, shards: int) -> Path:
    from tfgan_app.data import records

    out = workdir / f"synthetic-{n}"
    if not (out / records.DESCRIPTION).is_file():
        start = time.time()
        records.write(synthetic(n), out, names=("image", "label"), shards=shards, source=f"synthetic:{n}",
                      num_classes=0)
        print(f"wrote {n:,} images to {out} in {time.time() - start:.0f} s", flush=True)
    return out


def child_stream(directory: str, batch_size: int, window: int, ram_budget: int) -> dict:
    """One epoch streamed; then the first batch of the epoch's last batch (the skip)."""
    import tensorflow as tf

    from tfgan_app.data import streaming

    description = streaming.open_images(f"tfrecords:{directory}")
    options = tf.data.Options()
    options.autotune.ram_budget = ram_budget << 20
    batches = description.num_examples // batch_size
    ds = streaming.image_batches(description, batch_size=batch_size, seed=0, window=window).with_options(options)
    it = iter(ds.take(batches))
    next(it)
    start = time.perf_counter()
    for _ in range(batches - 1):
        next(it)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    last = streaming.image_batches(description, batch_size=batch_size, seed=0, window=window,
                                   start_batch=batches - 1).with_options(options)
    next(iter(last))
    return {"img_s": (batches - 1) * batch_size / seconds, "skip_s": time.perf_counter() - start,
            "data_MB": sum(s.bytes for s in description.shards) / 1e6}


def child_train(batch_size: int, steps: int) -> dict:
    import tensorflow as tf

    from tfgan_app import config as cfg
    from tfgan_app import games

    config = cfg.preset("dcgan-celeba", dataset="tfds:celeb_a", batch_size=batch_size).validate()
    game = games.build(config, (SIZE, SIZE, 3), 0)  # built and compiled as train.py builds it
    x = tf.random.stateless_uniform([batch_size * config.n_critic, SIZE, SIZE, 3], [0, 0], -1.0, 1.0)
    batches = tf.data.Dataset.from_tensors(x).repeat()  # in memory: only the step is timed
    game.fit(batches, epochs=1, steps_per_epoch=2, verbose=0)  # traced and warmed up
    start = time.perf_counter()
    game.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0)
    return {"img_s": steps * batch_size * config.n_critic / (time.perf_counter() - start)}


def run_child(args, kind: str, **kwargs) -> tuple[dict, float]:
    """The child's figures and its peak resident memory in MB."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(dict(kwargs, kind=kind))],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} child failed (status {status}): {out[-2000:]}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024  # KiB on Linux


def main(argv=None) -> int:
    args = parse(argv)
    if args.child:
        job = json.loads(args.child)
        kind = job.pop("kind")
        print(json.dumps(child_stream(**job) if kind == "stream" else child_train(**job)), flush=True)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(args.workdir)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    for n in sizes:
        directory = ensure_dataset(workdir, n, args.shards)
        figures, rss = run_child(args, "stream", directory=str(directory), batch_size=args.batch_size,
                                 window=args.shuffle_buffer, ram_budget=args.ram_budget)
        results[n] = dict(figures, rss_MB=rss)
        print(f"{n:>9,} images ({figures['data_MB']:,.0f} MB): {figures['img_s']:,.0f} img/s, peak RSS {rss:,.0f} MB, "
              f"first batch after skipping {(n // args.batch_size - 1) * args.batch_size:,} records "
              f"{figures['skip_s']:.2f} s", flush=True)
    train, train_rss = run_child(args, "train", batch_size=args.batch_size, steps=args.train_steps)
    print(f"dcgan-celeba (64 px, batch {args.batch_size}) consumes {train['img_s']:,.0f} img/s "
          f"(peak RSS {train_rss:,.0f} MB)", flush=True)
    small, large = results[sizes[0]], results[sizes[-1]]
    print(f"img/s={large['img_s']:.0f} dcgan64_img/s={train['img_s']:.1f} "
          f"headroom={large['img_s'] / train['img_s']:.1f} rss_MB={small['rss_MB']:.0f},{large['rss_MB']:.0f} "
          f"rss_ratio={large['rss_MB'] / small['rss_MB']:.3f} skip_s={large['skip_s']:.2f} "
          f"data_MB={large['data_MB']:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
