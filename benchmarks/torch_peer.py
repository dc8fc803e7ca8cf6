"""W1 in PyTorch: the peer a user would pick instead, for benchmarks/train_throughput.py --torch.

Runs under the peers' own virtualenv (benchmarks/requirements-peers.txt: torch and numpy,
nothing of tfgan_app), as a child process that train_throughput.py drives block by block, so
its steps alternate in time with the TensorFlow contenders':

    stdin:  a number N per line  ->  stdout: a JSON list of N per-step seconds per line

The model is W1's -- the TF DCGAN tutorial's generator and discriminator -- written in
PyTorch (Dense 7x7x256 without bias, BatchNorm, LeakyReLU 0.3, 5x5 transposed convolutions
128/64/1, tanh; 5x5 stride-2 convolutions 64/128 with LeakyReLU 0.3 and Dropout 0.3, a linear
logit), NHWC-free: PyTorch's NCHW, channels_last off (its CPU default).  Two steps:

  tutorial      the PyTorch DCGAN tutorial's step (pytorch.org/tutorials/beginner/dcgan_faces_tutorial):
                D on a real batch and on G(z).detach(), one D update; then G through the updated
                D on the same G(z), one G update (BCEWithLogits, Adam(1e-4) as W1);
  simultaneous  the TF tutorial's step, which W1 runs: one forward pass of G and D, both
                gradients from it, both applied (one D pass fewer than `tutorial`).

`--precision mixed_bfloat16` runs the forward passes under torch.autocast("cpu", bfloat16),
the losses in float32, as the PyTorch AMP docs write it.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def mnist(directory: str) -> torch.Tensor:
    """MNIST images from IDX files as float32 (N, 1, 28, 28) in [-1, 1]."""
    folder = Path(directory)
    path = next(p for pattern in ("*-images-idx3-ubyte", "*-images-idx3-ubyte.gz") for p in sorted(folder.glob(pattern)))
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    n, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    pixels = np.frombuffer(raw, np.uint8, n * h * w, 16).reshape(n, 1, h, w)
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0)


class Generator(nn.Module):
    def __init__(self, noise_dim: int = 100):
        super().__init__()
        self.dense = nn.Sequential(nn.Linear(noise_dim, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256),
                                   nn.LeakyReLU(0.3))
        self.convs = nn.Sequential(  # "same" padding of the TF layers: 5x5 with padding 2 (output_padding 1 at stride 2)
            nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(128, 64, 5, 2, 2, output_padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.3),
            nn.ConvTranspose2d(64, 1, 5, 2, 2, output_padding=1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.convs(self.dense(z).view(-1, 256, 7, 7))  # (B, 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(dropout),
            nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(dropout),
            nn.Flatten(), nn.Linear(128 * 7 * 7, 1))

    def forward(self, x):
        return self.net(x).float()  # (B, 1) logits


def make_step(kind: str, precision: str, batch: int, noise_dim: int):
    torch.manual_seed(0)
    g, d = Generator(noise_dim), Discriminator()
    g_opt, d_opt = torch.optim.Adam(g.parameters(), 1e-4), torch.optim.Adam(d.parameters(), 1e-4)
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "mixed_bfloat16" else \
        (lambda: torch.autocast("cpu", enabled=False))

    def tutorial(real):
        z = torch.randn(batch, noise_dim)
        d.zero_grad(set_to_none=True)
        with autocast():
            fake = g(z)
            d_loss = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        d_loss.backward()
        d_opt.step()
        g.zero_grad(set_to_none=True)
        with autocast():
            g_loss = bce(d(fake), ones)
        g_loss.backward()
        g_opt.step()

    def simultaneous(real):
        z = torch.randn(batch, noise_dim)
        with autocast():
            fake = g(z)
            real_logits, fake_logits = d(real), d(fake)
            d_loss = bce(real_logits, ones) + bce(fake_logits, zeros)
            g_loss = bce(fake_logits, ones)
        g_grads = torch.autograd.grad(g_loss, list(g.parameters()), retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, list(d.parameters()))
        for params, grads, opt in ((g.parameters(), g_grads, g_opt), (d.parameters(), d_grads, d_opt)):
            for p, grad in zip(params, grads):
                p.grad = grad
            opt.step()

    return {"tutorial": tutorial, "simultaneous": simultaneous}[kind]


def main() -> int:
    job = json.loads(sys.argv[1])
    torch.set_num_threads(int(job.get("threads") or torch.get_num_threads()))
    images = mnist(job["data"])
    batch = int(job["batch_size"])
    step = make_step(job["step"], job["precision"], batch, int(job.get("noise_dim", 100)))
    generator = torch.Generator().manual_seed(0)
    order, cursor = torch.randperm(len(images), generator=generator), 0
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()  # the batch's gathering counts, as the TF contenders' input does
            if cursor + batch > len(order):
                order, cursor = torch.randperm(len(images), generator=generator), 0
            real = images[order[cursor:cursor + batch]]
            cursor += batch
            step(real)
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
