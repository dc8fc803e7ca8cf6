"""The "gan" game's serving signatures: seeds or z (and labels) in, samples or PNGs out.

Stated once in tfgan_app/export/contract.py and written into every export as
assets.extra/signature_contract.json; every input is batch-major, B = 1..256:

| signature              | inputs                                | outputs                            |
|------------------------|---------------------------------------|------------------------------------|
| `serving_default`      | `z` float32 [B, latent]               | `samples` float32 [B, *sample]     |
| `generate`             | `seeds` int64 [B]                     | `samples`, `z` (+ `labels`, cond.) |
| `generate_png`         | `seeds` int64 [B]   (image models)    | `images_bytes` string [B] (PNG)    |
| `conditional`          | `z`, `labels` int32 [B] (cond. only)  | `samples`                          |
| `generate_conditional` | `seeds`, `labels`      (cond. only)   | `samples`, `z`                     |
| `generate_truncated`   | `seeds`, `truncation` float32 [B]     | `samples`, `z` (+ `labels`, cond.) |
|                        |   (normal noise only)                 |                                    |

Samples are vectors [B, dim] for the toy problems and NHWC images in [-1, 1] for
image models. PNGs hold uint8 pixels round((x + 1) * 127.5), clipped to [0, 255].

Seeds. `z` for seed s is one stateless draw from the seed pair (s, 0), with the GAN's
noise distribution: "normal" -> `tf.random.stateless_normal([latent], (s, 0))`;
"uniform" -> `tf.random.stateless_uniform([latent], (s, 0), -r, r)`; "stratified"
(training spreads a whole batch over [-r, r]) has no per-example meaning, so it is
drawn like "uniform" in [-r, r]. The same seed gives the same z on every call and every
machine (no XLA in any endpoint: XLA changes stateless draws), and the same sample up to
float32 rounding (another position in a batch may round the last bit differently on some CPUs).

The truncation trick (Brock et al. 2019, BigGAN). `generate_truncated` draws z for seed s
from N(0, I) truncated to [-t, t] per coordinate (values outside are resampled, as the paper
says: an exact truncated normal, `tf.random.stateless_parameterized_truncated_normal` from
the seed pair (s, 2)), with t the row's `truncation`.  Small t: samples nearer the mode,
less varied; large t: the untruncated distribution (though not `generate`'s z: another
draw; t above 64, inf included, is taken as 64: no float32 normal draw reaches it).
t <= 0 or NaN fails an in-graph check (INVALID_ARGUMENT, HTTP 400), as does a `truncation`
batch that differs from `seeds`'; a conditional model derives its labels from the seeds as
`generate` does.  Generators fed uniform noise have no such signature.

Conditional models. A sample needs a class label, so:
- `serving_default` takes (`z`, `labels`): it is the same function as `conditional`
  (a request without labels fails with a missing-input error naming `labels` rather
  than silently inventing a class);
- the seed-only signatures `generate` and `generate_png` derive the label from the
  seed too: label = `tf.random.stateless_uniform([], (s, 1), 0, num_classes, int32)`,
  and `generate` returns it as a third output, `labels` int32 [B];
- labels outside [0, num_classes) fail an in-graph assertion (INVALID_ARGUMENT,
  HTTP 400), as does a `labels` batch that differs from the `z` / `seeds` batch.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export import contract as contract_lib
from tfgan_app.export.signatures import ExportError, Signatures, endpoint, to_pixels


def noise_for_seeds(seeds, latent_dim: int, noise: str = "normal",
                    noise_range: float = 1.0) -> tf.Tensor:
    """z (B, latent_dim) float32 for int64 seeds (B,): one stateless draw per seed.

    Seed s draws from the stateless seed pair (s, 0): normal noise is N(0, I),
    "uniform" and "stratified" are U[-noise_range, noise_range] per coordinate.
    Used by the exported `generate*` signatures; callable eagerly too.
    """
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    r = float(noise_range)

    def one(seed):
        pair = tf.stack([seed, tf.constant(0, tf.int64)])  # (2,)
        if noise == "normal":
            return tf.random.stateless_normal([latent_dim], pair)
        return tf.random.stateless_uniform([latent_dim], pair, minval=-r, maxval=r)

    if noise not in ("normal", "uniform", "stratified"):
        raise ExportError(f"noise: {noise!r} has no per-seed rule (normal, uniform, stratified)")
    return tf.map_fn(one, seeds, fn_output_signature=tf.float32)  # (B, latent)


# Thresholds above this (inf included) are this: untruncated for float32 draws, and finite for the op.
MAX_TRUNCATION = 64.0


def truncated_noise_for_seeds(seeds, truncation, latent_dim: int) -> tf.Tensor:
    """z (B, latent_dim) float32: N(0, I) truncated to [-t, t] per coordinate, for int64 seeds (B,)
    and thresholds t (B,) float32 (one per row), from the stateless seed pair (s, 2).

    The exported `generate_truncated` and the evaluate CLI's truncation sweep use it; t must be
    > 0 (callers check: `check_truncation`).
    """
    seeds = tf.convert_to_tensor(seeds, tf.int64)
    truncation = tf.minimum(tf.cast(tf.convert_to_tensor(truncation), tf.float32), MAX_TRUNCATION)

    def one(args):
        seed, t = args
        pair = tf.stack([seed, tf.constant(2, tf.int64)])  # (2,)
        return tf.random.stateless_parameterized_truncated_normal([latent_dim], pair, 0.0, 1.0, -t, t)

    return tf.map_fn(one, (seeds, truncation), fn_output_signature=tf.float32)  # (B, latent)


def check_truncation(truncation, batch_of) -> tf.Tensor:
    """truncation (B,), after in-graph checks: every t > 0 (NaN fails too), one per row of batch_of."""
    checks = [
        tf.debugging.assert_greater(truncation, tf.constant(0.0, tf.float32),
                                    message="truncation must be a threshold > 0 per row (got <= 0 or NaN)"),
        tf.debugging.assert_equal(tf.shape(truncation)[0], tf.shape(batch_of)[0],
                                  message="truncation must have one entry per seed (same batch size)"),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(truncation)


def labels_for_seeds(seeds, num_classes: int) -> tf.Tensor:
    """Class labels (B,) int32 for int64 seeds (B,): uniform on [0, num_classes) from (s, 1)."""
    seeds = tf.convert_to_tensor(seeds, tf.int64)

    def one(seed):
        pair = tf.stack([seed, tf.constant(1, tf.int64)])  # (2,)
        return tf.random.stateless_uniform([], pair, minval=0, maxval=num_classes,
                                           dtype=tf.int32)

    return tf.map_fn(one, seeds, fn_output_signature=tf.int32)  # (B,)


def _evaluation_seeds(n: int, seed: int) -> np.ndarray:
    """The seeds evaluate.py draws sample set `seed` with: n * 2^32 + (0..n-1), distinct per seed."""
    return np.arange(n, dtype=np.int64) + np.int64(seed) * (1 << 32)  # (n,)


class GANSignatures(Signatures):
    """The signatures of a `games.gan.GAN` (or anything with its sampling interface:
    `sampler`, `generate`, `latent_dim`, `noise`, `noise_range`, `conditional`, `num_classes`).
    The archive tracks `gan.sampler`: the network `GAN.exported_networks()` names."""

    @property
    def num_classes(self) -> int:
        return self.game.num_classes if self.game.conditional else 0

    @functools.cached_property
    def sample_shape(self) -> tuple:
        """One sample's shape, from one call of the generator."""
        z = tf.zeros([1, self.game.latent_dim], tf.float32)
        labels = tf.zeros([1], tf.int32) if self.game.conditional else None
        return tuple(int(d) for d in self.game.generate(z, labels).shape[1:])

    def build(self):
        """The ExportArchive around `gan.sampler` (the generator or its weight average)."""
        gan = self.game
        generator = gan.sampler
        latent_dim, num_classes = gan.latent_dim, self.num_classes
        noise, noise_range = gan.noise, gan.noise_range
        contract = contract_lib.signature_contract(latent_dim, self.sample_shape, num_classes,
                                                   truncation=noise == "normal")

        z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
        seeds_spec = tf.TensorSpec([None], tf.int64, name="seeds")
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
        truncation_spec = tf.TensorSpec([None], tf.float32, name="truncation")

        def samples_of(z, labels=None):
            inputs = z if labels is None else [z, labels]
            return tf.cast(generator(inputs, training=False), tf.float32)  # (B, *sample)

        def checked(labels, batch_of):
            """labels, after in-graph checks of their range and batch size."""
            valid = f"labels must be class indices in [0, {num_classes})"
            checks = [
                tf.debugging.assert_non_negative(labels, message=f"{valid}; got a negative label"),
                tf.debugging.assert_less(labels, tf.constant(num_classes, tf.int32),
                                         message=f"{valid}; got a label >= {num_classes}"),
                tf.debugging.assert_equal(tf.shape(labels)[0], tf.shape(batch_of)[0],
                                          message="labels must have one entry per row of "
                                                  "z / seeds (same batch size)"),
            ]
            with tf.control_dependencies(checks):
                return tf.identity(labels)

        def generate(seeds):
            z = noise_for_seeds(seeds, latent_dim, noise, noise_range)
            if not num_classes:
                return {"samples": samples_of(z), "z": z}
            labels = labels_for_seeds(seeds, num_classes)
            return {"samples": samples_of(z, labels), "z": z, "labels": labels}

        def generate_truncated(seeds, truncation):
            z = truncated_noise_for_seeds(seeds, check_truncation(truncation, seeds), latent_dim)
            if not num_classes:
                return {"samples": samples_of(z), "z": z}
            labels = labels_for_seeds(seeds, num_classes)
            return {"samples": samples_of(z, labels), "z": z, "labels": labels}

        def generate_png(seeds):
            z = noise_for_seeds(seeds, latent_dim, noise, noise_range)
            labels = labels_for_seeds(seeds, num_classes) if num_classes else None
            pixels = to_pixels(samples_of(z, labels))  # (B, H, W, C) uint8
            return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels,
                                              fn_output_signature=tf.string)}  # (B,)

        def conditional(z, labels):
            return {"samples": samples_of(z, checked(labels, z))}

        def generate_conditional(seeds, labels):
            labels = checked(labels, seeds)
            z = noise_for_seeds(seeds, latent_dim, noise, noise_range)
            return {"samples": samples_of(z, labels), "z": z}

        archive = keras.export.ExportArchive()
        archive.track(generator)
        if num_classes:
            # serving_default = conditional (a separate tf.function object each).
            archive.add_endpoint("serving_default", endpoint(conditional, z_spec, labels_spec))
        else:
            archive.add_endpoint("serving_default",
                                 endpoint(lambda z: {"samples": samples_of(z)}, z_spec))
        archive.add_endpoint("generate", endpoint(generate, seeds_spec))
        if "generate_truncated" in contract:
            archive.add_endpoint("generate_truncated", endpoint(generate_truncated, seeds_spec, truncation_spec))
        if "generate_png" in contract:
            archive.add_endpoint("generate_png", endpoint(generate_png, seeds_spec))
        if num_classes:
            archive.add_endpoint("conditional", endpoint(conditional, z_spec, labels_spec))
            archive.add_endpoint("generate_conditional",
                                 endpoint(generate_conditional, seeds_spec, labels_spec))
        return archive, contract

    def example_inputs(self, contract, signature, batch, seed=0):
        """Normal z, seeds (small, large and negative alike), labels cycling the classes."""
        rng = np.random.default_rng(seed)
        out = {}
        for key, (dtype, shape) in contract[signature]["inputs"].items():
            if key == "z":
                out[key] = rng.normal(size=(batch, shape[1])).astype(np.float32)
            elif key == "seeds":
                out[key] = (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)
                out[key][-1] = np.int64(2**62 + seed)
            elif key == "labels":
                out[key] = (np.arange(batch) % max(self.num_classes, 1)).astype(np.int32)
            elif key == "truncation":  # from strong truncation to hardly any
                out[key] = np.geomspace(0.1, 4.0, batch).astype(np.float32)
            else:  # pragma: no cover - the contract has no other inputs
                raise ExportError(f"no example for input {key!r} of {signature!r}")
        return out

    def reference(self, contract, signature, inputs):
        gan, num_classes = self.game, self.num_classes
        if "z" in inputs:
            z = tf.constant(inputs["z"])
        elif "truncation" in inputs:
            z = truncated_noise_for_seeds(inputs["seeds"], inputs["truncation"], gan.latent_dim)
        else:
            z = noise_for_seeds(inputs["seeds"], gan.latent_dim, gan.noise, gan.noise_range)
        labels = None
        if num_classes:
            labels = (tf.constant(inputs["labels"]) if "labels" in inputs
                      else labels_for_seeds(inputs["seeds"], num_classes))
        samples = gan.generate(z, labels).numpy()
        out = {"samples": samples, "z": z.numpy()}
        if labels is not None:
            out["labels"] = labels.numpy()
        if signature == "generate_png":
            out = {"images_bytes": to_pixels(samples).numpy()}  # compared after decoding
        return {k: v for k, v in out.items() if k in contract[signature]["outputs"]}

    def info(self):
        gan, num_classes = self.game, self.num_classes
        return {
            "latent_dim": gan.latent_dim,
            "num_classes": num_classes,
            "sample_shape": list(self.sample_shape),
            "noise": {"kind": gan.noise, "range": gan.noise_range,
                      "per_seed": "normal: stateless_normal((seed, 0)); uniform and "
                                  "stratified: stateless_uniform((seed, 0), -range, range)"},
            "labels_per_seed": ("stateless_uniform([], (seed, 1), 0, num_classes, int32)"
                                if num_classes else None),
            "truncation": ("generate_truncated: stateless_parameterized_truncated_normal([latent], (seed, 2), "
                           f"0, 1, -t, t), t per row, > 0, at most {MAX_TRUNCATION:g}"
                           if gan.noise == "normal" else None),
            "weights": (f"latest checkpoint's generator weight average (EMA, decay {gan.ema_decay})"
                        if gan.generator_ema is not None else "latest checkpoint's generator (no EMA)"),
        }

    @staticmethod
    def truncated_sampler(signatures, info, draw_batch):
        """draw(n, seed, t): seeds n * 2^32 + (0..n-1) through `generate_truncated` (None without it)."""
        if "generate_truncated" not in signatures:
            return None

        def draw(n, seed, t):
            seeds = _evaluation_seeds(n, seed)
            return np.concatenate([signatures["generate_truncated"](
                seeds=tf.constant(seeds[i:i + draw_batch]),
                truncation=tf.fill([len(seeds[i:i + draw_batch])], np.float32(t)))["samples"].numpy()
                for i in range(0, n, draw_batch)])

        return draw

    @staticmethod
    def game_truncated_sampler(gan):
        """The draw of `truncated_sampler` computed with the GAN's sampler (a run), None for
        uniform noise: the same seeds give the same samples as the export."""
        if gan.noise != "normal":
            return None

        def draw(n, seed, t, batch=500):
            seeds = _evaluation_seeds(n, seed)
            out = []
            for i in range(0, n, batch):
                s = tf.constant(seeds[i:i + batch])
                z = truncated_noise_for_seeds(s, tf.fill([len(seeds[i:i + batch])], np.float32(t)), gan.latent_dim)
                labels = labels_for_seeds(s, gan.num_classes) if gan.conditional else None
                out.append(gan.generate(z, labels).numpy())
            return np.concatenate(out)

        return draw

    @staticmethod
    def sampler(signatures, info, draw_batch):
        """Seeds n * 2^32 + (0..n-1) through `generate`; a conditional export with a class count
        through `generate_conditional` with every class equally often."""
        missing = {"serving_default", "generate"} - set(signatures)
        if missing:
            raise ExportError(f"has no {', '.join(sorted(missing))} signature; is it an export written by export.py?")
        conditional = "generate_conditional" in signatures
        num_classes = int(info.get("num_classes") or 0) if conditional else 0

        def draw(n, seed):
            seeds = _evaluation_seeds(n, seed)
            labels = (np.arange(n) % num_classes).astype(np.int32) if num_classes else None
            out = []
            for i in range(0, n, draw_batch):
                s = tf.constant(seeds[i:i + draw_batch])
                if labels is not None:
                    out.append(signatures["generate_conditional"](
                        seeds=s, labels=tf.constant(labels[i:i + draw_batch]))["samples"].numpy())
                else:  # conditional exports without a class count draw labels from the seeds
                    out.append(signatures["generate"](seeds=s)["samples"].numpy())
            return np.concatenate(out)

        return draw
