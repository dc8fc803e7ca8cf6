"""Q7 `sr-photos` (docs/benchmarks.md): SRResNet and SRGAN against bicubic upsampling, offline.

SRResNet (`srresnet-photos`: the generator alone on the pixel MSE) trains for `--minutes`; SRGAN
(`srgan-photos`) then starts from it (`--init-from`, as the paper) and trains for `--minutes`
more.  Both train on random 96x96 crops of the photographs scikit-image and scikit-learn ship,
and are scored on the held-out whole photographs (data/superres.py HELD_OUT_PHOTOS), each
cropped to a multiple of 4, downsampled 4x (bicubic, antialiased) and upscaled back:

- PSNR and SSIM on the Y channel (BT.601, [16, 235], peak 255) with a 4-pixel border left out, as
  the SR literature scores (target: SRResNet >= bicubic + 1 dB);
- sharpness (mean gradient magnitude of the Y channel, output over the original): SRGAN's
  trade-off is a lower PSNR than SRResNet's for more high-frequency detail, which PSNR punishes;
- a picture (`--workdir`/crops.png): LR (enlarged) / bicubic / SRResNet / SRGAN / HR crops.

    python benchmarks/quality_superres.py --workdir W                  # 2 x 30 minutes
    python benchmarks/quality_superres.py --workdir W --minutes 0.5 --width 8 --res-blocks 2   # smoke test

Last line: `headline: sr-photos bicubic_psnr=... srresnet_psnr=... srgan_psnr=...`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import budget  # noqa: E402  (benchmarks/budget.py)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
SHAVE = 4  # border pixels left out of PSNR / SSIM (the scale factor, as the SR literature)
EPOCH_STEPS = 100


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="training budget of each model (default 30)")
    p.add_argument("--width", type=int, default=None, help="--width (default: the presets' 64)")
    p.add_argument("--res-blocks", type=int, default=None, help="--res-blocks (default: the presets' 16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", required=True, help="runs, reports and crops.png; an interrupted protocol continues")
    return p.parse_args(argv)


def score(outputs, originals) -> dict:
    from tfgan_app.metrics import figures

    ys = [figures.luma(o[None])[0, SHAVE:-SHAVE, SHAVE:-SHAVE] for o in outputs]
    ts = [figures.luma(t[None])[0, SHAVE:-SHAVE, SHAVE:-SHAVE] for t in originals]
    return {"psnr": float(np.mean([figures.psnr(y[None], t[None], data_range=255.0) for y, t in zip(ys, ts)])),
            "ssim": float(np.mean([figures.ssim(y[None], t[None], data_range=255.0) for y, t in zip(ys, ts)])),
            "sharpness_ratio": float(np.mean([figures.sharpness(y[None]) / figures.sharpness(t[None])
                                              for y, t in zip(ys, ts)]))}


def main(argv=None) -> int:
    args = parse(argv)
    import keras
    import tensorflow as tf

    from tfgan_app import config as cfg
    from tfgan_app.data import superres
    from tfgan_app.training import plotting
    from tfgan_app.training import train as training

    root = Path(args.workdir)
    root.mkdir(parents=True, exist_ok=True)
    overrides = {k: v for k, v in (("width", args.width), ("res_blocks", args.res_blocks)) if v}
    models, rows = {}, {}
    for name, preset in (("srresnet", "srresnet-photos"), ("srgan", "srgan-photos")):
        workdir = root / name
        extra = {"init_from": str(root / "srresnet")} if name == "srgan" else {}
        config = cfg.preset(preset, seed=args.seed, steps_per_epoch=EPOCH_STEPS, epochs=10**6, plot_every=10**6,
                            **overrides, **extra)
        report = workdir / "q7.json"
        keras.backend.clear_session()
        if report.is_file():
            from tfgan_app.training import run_dir
            _, game, _ = run_dir.restore_run(workdir)
            rows[name] = json.loads(report.read_text())
        else:
            start = time.time()
            game = training.train(config, workdir, fresh=True, verbose=0,
                                  extra_callbacks=[budget.wall_clock_budget(args.minutes)]).gan
            rows[name] = {"steps": int(game.g_optimizer.iterations), "train_seconds": round(time.time() - start, 1)}
        models[name] = game

    held = superres.photos("held_out")
    originals, lows = [], []
    for image in held.values():
        h, w = (image.shape[0] // 4) * 4, (image.shape[1] // 4) * 4
        x = image[:h, :w].astype(np.float32) / 127.5 - 1.0
        originals.append(x)
        lows.append(superres.downsample(tf.constant(x[None]))[0].numpy())
    outputs = {"bicubic": [np.clip(tf.image.resize(lo[None], lo.shape[:2] * np.array(4), method="bicubic")[0].numpy(),
                                   -1, 1) for lo in lows]}
    for name, game in models.items():
        outputs[name] = [game.upscale(lo[None])[0] for lo in lows]
    figures = {name: score(out, originals) for name, out in outputs.items()}
    for name in models:
        rows[name].update(figures[name])
        (root / name / "q7.json").write_text(json.dumps(rows[name], indent=2) + "\n")
    for name, f in figures.items():
        extra = f"  ({rows[name]['steps']} steps, {rows[name]['train_seconds']:.0f} s)" if name in rows else ""
        print(f"{name:9s} PSNR {f['psnr']:.2f} dB  SSIM {f['ssim']:.4f}  sharpness {f['sharpness_ratio']:.3f}{extra}")

    # LR (nearest-neighbour enlarged) / bicubic / SRResNet / SRGAN / HR: a 96x96 crop of each photograph.
    crops = []
    for i, x in enumerate(originals):
        top, left = x.shape[0] // 2 - 48, x.shape[1] // 2 - 48
        cut = lambda a: a[top:top + 96, left:left + 96]  # noqa: E731
        enlarged = np.repeat(np.repeat(lows[i], 4, 0), 4, 1)
        crops.append([cut(enlarged), cut(outputs["bicubic"][i]), cut(outputs["srresnet"][i]),
                      cut(outputs["srgan"][i]), cut(x)])
    grid = np.concatenate([np.stack(row) for row in crops])  # (rows * 5, 96, 96, 3)
    plotting.save_png(plotting.image_grid(grid, len(crops)), root / "crops.png")
    print(f"picture: {root / 'crops.png'} (columns: LR, bicubic, SRResNet, SRGAN, HR)")
    print("headline: sr-photos " + " ".join(f"{n}_psnr={f['psnr']:.2f}" for n, f in figures.items())
          + " " + " ".join(f"{n}_sharpness={f['sharpness_ratio']:.3f}" for n, f in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
