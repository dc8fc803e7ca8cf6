"""Pictures of a run: toy samples against the data, loss curves, image grids."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen: render to files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfgan_app.data import toy as toy_data  # noqa: E402


def _save(fig, path: Path) -> None:
    """Writes atomically: a reader never sees half a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    os.replace(tmp, path)


def toy_samples(problem: str, fake: np.ndarray, real: np.ndarray, path: Path, title: str = "") -> None:
    """Generated samples against the real distribution, one picture per problem kind."""
    fig, ax = plt.subplots(figsize=(6, 5))
    if problem == "gaussian1d":
        bins = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 60)
        ax.hist(real.ravel(), bins=bins, density=True, alpha=0.5, label="data N(4, 0.5)")
        ax.hist(fake.ravel(), bins=bins, density=True, alpha=0.5, label="generated")
        ax.set_xlabel("x")
    elif problem == "sine":
        x = toy_data.sine_x()
        for curve in fake[:20]:
            ax.plot(x, curve, color="tab:orange", alpha=0.4, lw=1)
        ax.plot(x, np.sin(np.pi * x), color="black", lw=2, label="sin(pi x)")
        ax.plot([], [], color="tab:orange", label="generated")
        ax.set_xlabel("x")
    else:
        modes = toy_data.mixture_modes(problem)
        ax.scatter(fake[:, 0], fake[:, 1], s=2, alpha=0.4, color="tab:orange", label="generated")
        ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", color="black", label="modes")
        ax.set_aspect("equal")
        lim = np.abs(modes).max() * 1.6
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.legend(loc="upper right")
    ax.set_title(title or problem)
    _save(fig, path)


def loss_curves(metrics_csv: Path, path: Path) -> None:
    """Every logged metric against the epoch, one panel each."""
    with open(metrics_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    names = [k for k in rows[0] if k not in ("epoch", "time")]
    epochs = [int(r["epoch"]) for r in rows]
    cols = 3
    nrows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 2.6 * nrows), squeeze=False)
    # Where the minimax game's equilibrium (D = 1/2) puts these curves.
    equilibrium = {"d_real": 0.5, "d_fake": 0.5, "d_objective": -2 * np.log(2)} if "d_objective" in names else {}
    for ax, name in zip(axes.ravel(), names):
        ax.plot(epochs, [float(r[name]) for r in rows])
        if name in equilibrium:
            ax.axhline(equilibrium[name], color="gray", ls="--", lw=1, label="equilibrium")
            ax.legend(loc="best", fontsize=8)
        ax.set_title(name)
        ax.set_xlabel("epoch")
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    _save(fig, path)


def image_grid(images: np.ndarray, rows: int) -> np.ndarray:
    """(N, H, W, C) in [-1, 1] -> one uint8 picture (rows*H, cols*W, C)."""
    n, h, w, c = images.shape
    cols = int(np.ceil(n / rows))
    pad = np.zeros((rows * cols - n, h, w, c), images.dtype) - 1
    x = np.concatenate([images, pad])  # (rows*cols, H, W, C)
    x = x.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)
    return np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)


def piano_rolls(rows: np.ndarray, pitches: int, scale: int = 4) -> np.ndarray:
    """Melodies as rows (B, T) (pitch row 0..pitches-1, or -1: rest) -> one uint8 picture: each
    melody a band of `pitches` rows (high pitches on top), a step `scale` pixels wide, a grey
    line every 16 steps (a bar), the melodies stacked with a gap."""
    b, t = rows.shape
    bands = []
    for row in rows:
        band = np.full((pitches * scale, t * scale), 255, np.uint8)
        band[:, ::16 * scale] = 200
        for step, r in enumerate(row):
            if r >= 0:
                top = (pitches - 1 - int(r)) * scale
                band[top:top + scale, step * scale:(step + 1) * scale] = 0
        bands += [band, np.full((2 * scale, t * scale), 255, np.uint8)]
    return np.concatenate(bands[:-1])[..., np.newaxis]


def save_png(picture: np.ndarray, path: Path) -> None:
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture).save(tmp, format="PNG")
    os.replace(tmp, path)


def save_gif(pngs: list, path: Path, ms_per_frame: int = 300) -> None:
    """An animated GIF of the grids over training, like the TF DCGAN tutorial's."""
    from PIL import Image

    if not pngs:
        return
    frames = [Image.open(p).convert("P") for p in pngs]
    tmp = Path(path).with_name(f".{Path(path).name}.tmp")
    frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                   duration=ms_per_frame, loop=0)
    os.replace(tmp, path)


def truncation_tradeoff(thresholds, figures: dict, path: Path, title: str = "") -> None:
    """Figures (e.g. precision and recall) against the truncation threshold t: BigGAN's
    fidelity / diversity trade-off.  figures: name -> one value per threshold."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in figures.items():
        ax.plot(thresholds, values, marker="o", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("truncation threshold t")
    ax.legend(loc="best")
    ax.set_title(title or "truncation trade-off")
    fig.tight_layout()
    _save(fig, path)
