"""Stacked MNIST (docs/benchmarks.md Q4): three random digits as the R, G, B channels.

    MNIST (N, 28, 28, 1), labels  ->  stack(n, seed)  ->  (n, 28, 28, 3) uint8, mode r*100 + g*10 + b
                                  ->  write_npz       ->  FILE.npz, trained on as `--dataset npz:FILE`

Each channel is an MNIST image drawn independently and uniformly (with replacement),
so the 1,000 label triples are (nearly) equally likely: a generator that covers the
data has ~1,000 modes and KL(mode histogram || uniform) near 0.  Here the digits come
from the 10,000-image test split (the published setup pools all 70,000).

    python -m tfgan_app.data.stacked_mnist --mnist DIR --out FILE.npz [--examples N] [--seed S]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

NUM_MODES = 1000
DEFAULT_EXAMPLES = 50_000


def stack(images: np.ndarray, labels: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n Stacked MNIST images from single-channel digits.

    Args:
      images: (N, 28, 28) or (N, 28, 28, 1) digits.
      labels: (N,) digit labels 0..9.
      n: number of stacked images.
      seed: which digits go where.
    Returns:
      (images (n, 28, 28, 3) of images' dtype, modes (n,) int32 = 100 r + 10 g + b).
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]  # (N, 28, 28)
    idx = np.random.default_rng(seed).integers(0, len(images), size=(n, 3))  # (n, 3): R, G, B digits
    x = np.stack([images[idx[:, c]] for c in range(3)], axis=-1)  # (n, 28, 28, 3)
    digits = np.asarray(labels)[idx]  # (n, 3)
    return x, (digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]).astype(np.int32)


def load_mnist(spec: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (N, 28, 28, 1), labels (N,)) of an MNIST spec (mnist-idx:DIR, or a directory)."""
    from tfgan_app.data import images as image_data

    if ":" not in spec:
        spec = f"mnist-idx:{spec}"
    ds, source = image_data.load_examples(spec)
    if source.num_classes != 10 or source.image_shape != (28, 28, 1):
        raise image_data.DataError(f"--mnist {spec}: expected labelled 28x28 greyscale digits (10 classes), "
                                   f"got {source.image_shape} with {source.num_classes} classes")
    images, labels = next(iter(ds.batch(source.num_examples)))
    return images.numpy(), labels.numpy()


def write_npz(mnist: str, out, n: int = DEFAULT_EXAMPLES, seed: int = 0) -> Path:
    """Writes `n` Stacked MNIST images to `out` (arrays x uint8 (n, 28, 28, 3), y modes); atomic.

    Returns:
      The path; train on it with `--dataset npz:PATH --channels 3`.
    """
    out = Path(out)
    x, y = stack(*load_mnist(mnist), n, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.npz")
    np.savez(tmp, x=x, y=y)
    os.replace(tmp, out)
    return out


def main(argv=None) -> int:

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tfgan_app.cli import ArgumentParser

    p = ArgumentParser(prog="python -m tfgan_app.data.stacked_mnist", description=__doc__)
    p.add_argument("--mnist", required=True, help="MNIST IDX directory (or mnist-idx:DIR)")
    p.add_argument("--out", required=True, help="the .npz file to write")
    p.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES, help=f"default {DEFAULT_EXAMPLES}")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        path = write_npz(args.mnist, args.out, args.examples, args.seed)
    except ValueError as e:
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.examples} Stacked MNIST images to {path}; train with --dataset npz:{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
