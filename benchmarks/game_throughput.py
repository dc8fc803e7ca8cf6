"""Train steps per second of the games other than the GAN, against the same step written by hand.

W3 `pix2pix-step`, W4 `cyclegan-step` (docs/benchmarks.md), and the cascades' `lapgan-step`,
`stackgan-step`:

W3: the TF pix2pix tutorial's models and `train_step` (benchmarks/hand_written_translation.py)
against the project's pix2pix game through `fit` on the same models: `--update simultaneous`
(the tutorial's order: one forward pass, both gradients) and, for what the authors' order
costs, the default alternating step (D updated before G's gradient: one more D pass).
W4: the keras.io CycleGAN example's models and `train_step` against the project's CycleGAN game
(history pools of 50, D updated after G, as the authors' code).  256x256x3, batch 1, float32;
the images are seeded random pixels written as files, read by each side's own pipeline with
pix2pix's jitter (resize 286, crop 256, mirror).
lapgan-step / stackgan-step: the `lapgan-mnist` / `stackgan-captions2digits` (Stage I) presets
through `fit` against the same networks in a plain `@tf.function` step
(benchmarks/hand_written_cascades.py: no public TF 2 version of either exists), on seeded random
28x28 digits (StackGAN: with captions, an untrained text encoder), batch 128 / 64, float32.

    python benchmarks/game_throughput.py --workload pix2pix-step
    python benchmarks/game_throughput.py --workload cyclegan-step --steps 12 --block 3
    python benchmarks/game_throughput.py --workload pix2pix-step --size 64 --steps 8   # smoke test
    python benchmarks/game_throughput.py --workload lapgan-step
    python benchmarks/game_throughput.py --workload stackgan-step

Contenders run in alternating blocks of --block steps after a warm-up block; the ratio is the
median over rounds of (hand block median / ours).  Last line: `<workload>: steps/s=<ours>
hand_steps/s=<theirs> ratio=<ours over theirs> ...`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
WORKLOADS = ("pix2pix-step", "cyclegan-step", "lapgan-step", "stackgan-step")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=WORKLOADS, required=True)
    p.add_argument("--size", type=int, default=256, help="image side (default 256, the workloads')")
    p.add_argument("--steps", type=int, default=16, help="timed steps per contender (default 16)")
    p.add_argument("--block", type=int, default=4, help="steps per block (default 4)")
    p.add_argument("--images", type=int, default=8, help="distinct images per domain (default 8)")
    args = p.parse_args(argv)
    if args.workload in ("pix2pix-step", "cyclegan-step") and (args.size < 32 or args.size & (args.size - 1)):
        p.error(f"--size {args.size}: expected a power of two >= 32 (the tutorial's U-Net halves it 8 times at 256)")
    return args


def write_images(folder: Path, n: int, size: int, seed: int, side_by_side: bool = False) -> np.ndarray:
    """n seeded random RGB images as PNG files (A|B pairs when side_by_side); their pixels."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (n, size, 2 * size if side_by_side else size, 3),
                                                  dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return pixels


class Contender:
    """Times steps: `step()` runs one (the hand loop), or `fit` runs a game (a callback marks each step)."""

    def __init__(self, step=None, game=None, dataset=None):
        import keras

        self.step, self.game, self.dataset = step, game, dataset
        self.times, self.blocks, self.ends = [], [], []
        contender = self

        class Timer(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                contender.ends.append(time.perf_counter())

        self.timer = Timer()

    def run(self, steps: int, record: bool = True):
        if self.game is not None:
            self.ends = []
            self.game.fit(self.dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False,
                          callbacks=[self.timer])
            per_step = np.diff(self.ends)  # the first step is not timed
        else:
            ends = [time.perf_counter()]
            for _ in range(steps + 1):
                self.step()
                ends.append(time.perf_counter())
            per_step = np.diff(ends)[1:]
        if record:
            self.times += list(per_step)
            self.blocks.append(float(np.median(per_step)))


def pix2pix_contenders(args, root: Path) -> dict:
    import keras
    import tensorflow as tf

    import hand_written_translation as hw
    from tfgan_app import config as cfg
    from tfgan_app import data as data_lib
    from tfgan_app.games import pix2pix

    pixels = write_images(root / "pairs", args.images, args.size, seed=0, side_by_side=True)
    config = cfg.preset("pix2pix", dataset=f"pairs:{root / 'pairs'}", image_size=args.size, batch_size=1)
    dataset = data_lib.open_data(config).batches(0)
    contenders = {}
    for update in ("simultaneous", "alternating"):
        keras.utils.set_random_seed(0)
        game = pix2pix.Pix2Pix(hw.pix2pix_generator(args.size), hw.pix2pix_discriminator(args.size),
                               l1_weight=100.0, update=update)
        game.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
        contenders[f"fit {update}"] = Contender(game=game, dataset=dataset)
    keras.utils.set_random_seed(0)
    step = hw.pix2pix_tutorial_step(hw.pix2pix_generator(args.size), hw.pix2pix_discriminator(args.size))
    images = tf.cast(pixels, tf.float32) / 127.5 - 1.0
    pairs = (tf.data.Dataset.from_tensor_slices((images[:, :, :args.size], images[:, :, args.size:])).repeat()
             .map(lambda a, b: hw.tutorial_random_jitter(a, b, args.size)).batch(1).prefetch(tf.data.AUTOTUNE))
    it = iter(pairs)
    contenders["hand"] = Contender(step=lambda: step(*next(it)))
    return contenders


def cyclegan_contenders(args, root: Path) -> dict:
    import keras
    import tensorflow as tf

    import hand_written_translation as hw
    from tfgan_app import config as cfg
    from tfgan_app import data as data_lib
    from tfgan_app.games import cyclegan

    a = write_images(root / "A", args.images, args.size, seed=1)
    b = write_images(root / "B", args.images, args.size, seed=2)
    config = cfg.preset("cyclegan", dataset=f"domains:{root / 'A'},{root / 'B'}", image_size=args.size,
                        batch_size=1)
    dataset = data_lib.open_data(config).batches(0)

    def models():
        keras.utils.set_random_seed(0)
        return (hw.cyclegan_generator(args.size, name="gen_G"), hw.cyclegan_generator(args.size, name="gen_F"),
                hw.cyclegan_discriminator(args.size, name="disc_X"), hw.cyclegan_discriminator(args.size, name="disc_Y"))

    g, f, dx, dy = models()
    game = cyclegan.CycleGAN(g, f, dx, dy, cycle_weight=10.0, identity_weight=0.5, pool_size=50)
    game.compile({name: keras.optimizers.Adam(2e-4, beta_1=0.5) for name in ("g_ab", "g_ba", "d_a", "d_b")})
    contenders = {"fit": Contender(game=game, dataset=dataset)}
    step = hw.cyclegan_example_step(*models())

    def jitter(x):
        return hw.tutorial_random_jitter(x, x, args.size)[0]

    domains = [tf.data.Dataset.from_tensor_slices(tf.cast(x, tf.float32) / 127.5 - 1.0).repeat().map(jitter).batch(1)
               for x in (a, b)]
    it = iter(tf.data.Dataset.zip(*domains).prefetch(tf.data.AUTOTUNE))
    contenders["hand"] = Contender(step=lambda: step(*next(it)))
    return contenders


def write_digits(path: Path, n: int) -> str:
    """n seeded random 28x28 'digits' with labels, as an npz spec."""
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), y=np.arange(n) % 10)
    return f"npz:{path}"


def lapgan_contenders(args, root: Path) -> dict:
    import keras
    import tensorflow as tf

    import hand_written_cascades as hw
    from tfgan_app import config as cfg
    from tfgan_app import data as data_lib
    from tfgan_app import games
    from tfgan_app.nets import lapgan as lapgan_nets
    from tfgan_app.nets import pyramid

    spec = write_digits(root / "digits.npz", 512)
    config = cfg.preset("lapgan-mnist", dataset=spec)
    dataset = data_lib.open_data(config).batches(0)
    keras.utils.set_random_seed(0)
    contenders = {"fit": Contender(game=games.build(config, (28, 28, 1)), dataset=dataset)}
    keras.utils.set_random_seed(0)
    sides = pyramid.sides(28, config.levels)
    step = hw.lapgan_step(lapgan_nets.build_levels(config, sides, 1), sides, config.latent_dim)
    with np.load(root / "digits.npz") as f:
        x = f["x"].astype(np.float32) / 127.5 - 1.0
    it = iter(tf.data.Dataset.from_tensor_slices(x).repeat().shuffle(512, seed=0).batch(config.batch_size)
              .prefetch(tf.data.AUTOTUNE))
    contenders["hand"] = Contender(step=lambda: step(next(it)))
    return contenders


def stackgan_contenders(args, root: Path) -> dict:
    import keras
    import tensorflow as tf
    from PIL import Image

    import hand_written_cascades as hw
    from tfgan_app import config as cfg
    from tfgan_app import data as data_lib
    from tfgan_app import games
    from tfgan_app.data import captions
    from tfgan_app.nets import stackgan as stackgan_nets
    from tfgan_app.nets import text_encoder

    rng = np.random.default_rng(0)
    lines, pixels = [], rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(root / f"{i}.png")
        lines.append(f"{i}.png\t{captions.caption(i % 10, i % 3, (i // 3) % 3, i % 2, i % 4)}")
    (root / "captions.tsv").write_text("\n".join(lines) + "\n")
    keras.utils.set_random_seed(0)
    text_encoder.text_model(captions.vocabulary()).save(root / "encoder.keras")
    config = cfg.preset("stackgan-captions2digits", dataset=f"captions:{root / 'captions.tsv'}",
                        text_encoder=str(root / "encoder.keras"))
    dataset = data_lib.open_data(config).batches(0)
    keras.utils.set_random_seed(0)
    contenders = {"fit": Contender(game=games.build(config, (28, 28, 1)), dataset=dataset)}
    keras.utils.set_random_seed(0)
    text_model = text_encoder.load_text_encoder(root / "encoder.keras")
    phi_dim = int(text_model.output.shape[-1])
    g1 = stackgan_nets.stage1_generator(config, 14, 1, phi_dim, config.c_dim)
    d1 = stackgan_nets.discriminator(config, 14, 1, phi_dim, config.c_dim, "d1")
    step = hw.stackgan_step(text_model, g1, d1, config.latent_dim, config.c_dim, config.kl_weight)
    texts = np.array([line.split("\t")[1] for line in lines])
    it = iter(tf.data.Dataset.from_tensor_slices((pixels[..., None].astype(np.float32) / 127.5 - 1.0, texts))
              .repeat().shuffle(256, seed=0).batch(config.batch_size).prefetch(tf.data.AUTOTUNE))
    contenders["hand"] = Contender(step=lambda: step(*next(it)))
    return contenders


def main(argv=None) -> int:
    args = parse(argv)
    import tensorflow as tf

    from train_throughput import machine_load

    with tempfile.TemporaryDirectory(prefix="game_throughput-") as tmp:
        make = {"pix2pix-step": pix2pix_contenders, "cyclegan-step": cyclegan_contenders,
                "lapgan-step": lapgan_contenders, "stackgan-step": stackgan_contenders}[args.workload]
        contenders = make(args, Path(tmp))
        what = ("28x28x1, the preset's batch" if args.workload in ("lapgan-step", "stackgan-step")
                else f"{args.size}x{args.size}x3, batch 1")
        print(f"{args.workload}: {what}, float32, tensorflow {tf.__version__}, {machine_load()}", flush=True)
        for c in contenders.values():  # trace, build the kernels, fill the pipelines
            c.run(args.block, record=False)
        start = time.time()
        while min(len(c.times) for c in contenders.values()) < args.steps:
            for c in contenders.values():
                c.run(args.block)
    print(f"timed {args.steps}+ steps per contender in blocks of {args.block} ({time.time() - start:.0f} s); "
          f"{machine_load()}")
    for name, c in contenders.items():
        t = np.array(c.times)
        print(f"  {name:18s} steps/s={1 / np.median(t):7.3f}   step ms: median {np.median(t) * 1e3:.1f}, "
              f"p10 {np.percentile(t, 10) * 1e3:.1f}, p90 {np.percentile(t, 90) * 1e3:.1f}")

    def ratio(a, b):
        return float(np.median(np.array(contenders[b].blocks) / np.array(contenders[a].blocks)))

    ours = next(iter(contenders))
    line = (f"{args.workload}: steps/s={1 / np.median(contenders[ours].times):.3f} "
            f"hand_steps/s={1 / np.median(contenders['hand'].times):.3f} ratio={ratio(ours, 'hand'):.3f}")
    for name in list(contenders)[1:-1]:
        line += f" {name.replace(' ', '_')}_ratio={ratio(name, 'hand'):.3f}"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
