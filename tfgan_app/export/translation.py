"""Image-to-image serving signatures (pix2pix, CycleGAN, SRGAN): an image in, its translation out.

pix2pix:

| signature           | inputs                                          | outputs                          |
|---------------------|-------------------------------------------------|----------------------------------|
| `serving_default`   | `images` float32 [B, S, S, Ci] in [-1, 1]       | `images` float32 [B, S, S, Co]   |
| `translate`         | the same                                        | the same                         |
| `translate_png`     | `images_bytes` string [B] (PNG, JPEG, GIF, BMP) | `images_bytes` string [B] (PNG)  |
| `translate_sampled` | `images` [B, S, S, Ci], `seeds` int64 [B]       | `images` [B, S, S, Co]           |

CycleGAN: `a_to_b` and `b_to_a` as `translate` (one generator each), `a_to_b_png` and
`b_to_a_png` as `translate_png`; `serving_default` is `a_to_b`.  SRGAN: `upscale` and
`upscale_png`, images of the LR size S in, 4S out; `serving_default` is `upscale`.

S is the size the run trained at, fixed per export (so TF Serving's batching can merge
requests); the signatures declare any size and check it in the graph, so an image of
another size fails with INVALID_ARGUMENT naming the size expected, not a shape error from
deep inside the network (a declared fixed size is not checked by TF Serving at all).
`translate_png` takes an image file of any size: it is decoded to Ci channels,
centre-cropped to a square and resized to S x S (bilinear, antialiased, as training data
is), then translated and encoded as a PNG of S x S pixels round((y + 1) * 127.5).

`translate` is deterministic: dropout off, instance normalisation (per example), so one
client's output never depends on who is batched with it.  The paper's stochastic
generator (dropout on at test time, its only noise) is `translate_sampled`: example i's
dropout masks are drawn from the stateless pair (seeds[i], 0), folded with each dropout
layer's index (nets/unet.py, GlobalDropout): the same image and seed give the same output
on every call, whatever else is in the batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.export.signatures import ExportError, Signatures, endpoint, to_pixels
from tfgan_app.nets import unet


def fit_size(pixels, size: int):
    """uint8 (H, W, C) -> float32 (size, size, C) in [-1, 1]: centre square, resized (bilinear,
    antialiased, rounded to whole levels as data/images.py does) when not that size already."""
    shape = tf.shape(pixels)
    side = tf.minimum(shape[0], shape[1])
    top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
    square = tf.cast(pixels[top:top + side, left:left + side], tf.float32)
    resized = tf.cond(tf.equal(side, size), lambda: square,
                      lambda: tf.round(tf.image.resize(square, (size, size), antialias=True)))
    return tf.ensure_shape(tf.clip_by_value(resized, 0.0, 255.0) / 127.5 - 1.0, [size, size, None])


def check_size(images, size: int, channels: int):
    """images (B, H, W, C), after an in-graph check that H = W = size and C = channels."""
    want = tf.constant([size, size, channels], tf.int32)
    check = tf.debugging.assert_equal(
        tf.shape(images)[1:], want,
        message=f"images must be [batch, {size}, {size}, {channels}] (this export's size); got")
    with tf.control_dependencies([check]):
        return tf.ensure_shape(tf.identity(images), [None, size, size, channels])


class TranslationSignatures(Signatures):
    """Signatures of a translation game: `directions` maps a signature name to the network it
    runs ("translate" -> pix2pix's generator; "a_to_b", "b_to_a" -> CycleGAN's); each gets its
    float form and a `_png` form, and `serving_default` is the first.  A subclass names them."""

    def directions(self) -> dict:
        raise NotImplementedError

    def sizes(self) -> tuple[int, int]:
        """(input side, output side): the networks' own, fixed at training (SRGAN: its LR and HR sides)."""
        first = next(iter(self.nets.values()))
        return int(first.input.shape[1]), int(first.output.shape[1])

    def __init__(self, game):
        super().__init__(game)
        self.nets = self.directions()
        self.size, self.out_size = self.sizes()
        self.channels = {name: (int(net.input.shape[3]), int(net.output.shape[3])) for name, net in self.nets.items()}

    def contract(self) -> dict:
        contract = {}
        for i, (name, (_, cout)) in enumerate(self.channels.items()):
            images = {"inputs": {"images": ("float32", [None, None, None, None])},
                      "outputs": {"images": ("float32", [None, self.out_size, self.out_size, cout])}}
            if i == 0:
                contract["serving_default"] = images
            contract[name] = images
            contract[f"{name}_png"] = {"inputs": {"images_bytes": ("string", [None])},
                                       "outputs": {"images_bytes": ("string", [None])}}
        return contract

    def _endpoints(self, archive):
        size = self.size
        images_spec = tf.TensorSpec([None, None, None, None], tf.float32, name="images")
        bytes_spec = tf.TensorSpec([None], tf.string, name="images_bytes")
        for i, (name, net) in enumerate(self.nets.items()):
            translate, translate_png = self._direction_endpoints(net, self.channels[name][0], size)
            archive.track(net)
            if i == 0:
                archive.add_endpoint("serving_default", endpoint(translate, images_spec))
            archive.add_endpoint(name, endpoint(translate, images_spec))
            archive.add_endpoint(f"{name}_png", endpoint(translate_png, bytes_spec))

    @staticmethod
    def _direction_endpoints(net, cin: int, size: int):
        """(translate, translate_png) of one network: plain functions of their tensor inputs only
        (a Python default argument would become part of the saved function's signature)."""

        def translated(images):
            return tf.cast(net(check_size(images, size, cin), training=False), tf.float32)

        def translate(images):
            return {"images": translated(images)}

        def translate_png(images_bytes):
            def decode(data):
                return fit_size(tf.io.decode_image(data, channels=cin, expand_animations=False), size)
            images = tf.map_fn(decode, images_bytes, fn_output_signature=tf.TensorSpec([size, size, cin], tf.float32))
            pixels = to_pixels(translated(images))
            return {"images_bytes": tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)}

        return translate, translate_png

    def build(self):
        archive = keras.export.ExportArchive()
        contract = self.contract()
        self._endpoints(archive)
        return archive, contract

    def _direction(self, signature: str) -> str:
        """The direction a signature runs: NAME, NAME_png, NAME_sampled -> NAME; serving_default -> the first."""
        return next((name for name in self.nets if signature == name or signature.startswith(f"{name}_")),
                    next(iter(self.nets)))

    def example_inputs(self, contract, signature, batch, seed=0):
        rng = np.random.default_rng(seed)
        cin = self.channels[self._direction(signature)][0]
        pixels = rng.integers(0, 256, (batch, self.size, self.size, cin), dtype=np.uint8)
        out = {}
        for key in contract[signature]["inputs"]:
            if key == "images":
                out[key] = pixels.astype(np.float32) / 127.5 - 1.0
            elif key == "images_bytes":
                out[key] = np.array([tf.io.encode_png(p).numpy() for p in pixels], dtype=object)
            elif key == "seeds":
                out[key] = (np.arange(batch, dtype=np.int64) * 7919 - 3 + seed).astype(np.int64)
            else:  # pragma: no cover - the contract has no other inputs
                raise ExportError(f"no example for input {key!r} of {signature!r}")
        return out

    def _translate(self, name, x) -> np.ndarray:
        net = self.nets[name]
        return np.concatenate([tf.cast(net(x[i:i + 256], training=False), tf.float32).numpy()
                               for i in range(0, len(x), 256)])

    def reference(self, contract, signature, inputs):
        name = self._direction(signature)
        if signature.endswith("_png"):
            cin = self.channels[name][0]
            x = np.stack([tf.io.decode_image(bytes(b), channels=cin).numpy()
                          for b in inputs["images_bytes"]]).astype(np.float32) / 127.5 - 1.0
            return {"images_bytes": to_pixels(self._translate(name, x)).numpy()}
        return {"images": self._translate(name, inputs["images"])}

    def info(self):
        return {
            "image_size": self.size, "output_size": self.out_size,
            "directions": {name: {"input_channels": cin, "output_channels": cout}
                           for name, (cin, cout) in self.channels.items()},
            "png": f"any image file: decoded to the input's channels, centre-cropped to a square and "
                   f"resized to {self.size}x{self.size} (bilinear, antialiased); a {self.out_size}x{self.out_size} "
                   f"PNG out, round((y + 1) * 127.5)",
            "weights": "latest checkpoint's generators",
        }

    @staticmethod
    def sampler(signatures, info, draw_batch):
        raise ExportError("a translation export has no samples of its own to draw: it translates inputs")


class Pix2PixSignatures(TranslationSignatures):
    """pix2pix: `translate` (+ `_png`), and `translate_sampled` when the U-Net has dropout."""

    def directions(self):
        return {"translate": self.game.generator}

    def __init__(self, game):
        super().__init__(game)
        self.stochastic = any(isinstance(layer, unet.GlobalDropout) and layer.rate > 0
                              for layer in game.generator.layers)

    def contract(self):
        contract = super().contract()
        if self.stochastic:
            contract["translate_sampled"] = {"inputs": {"images": ("float32", [None, None, None, None]),
                                                        "seeds": ("int64", [None])},
                                             "outputs": contract["translate"]["outputs"]}
        return contract

    def build(self):
        archive, contract = super().build()
        if self.stochastic:
            size, cin = self.size, self.channels["translate"][0]
            sampled = unet.sampled(self.game.generator)

            def translate_sampled(images, seeds):
                images = check_size(images, size, cin)
                check = tf.debugging.assert_equal(tf.shape(seeds)[0], tf.shape(images)[0],
                                                  message="seeds must have one entry per image (same batch size)")
                with tf.control_dependencies([check]):
                    pairs = tf.stack([seeds, tf.zeros_like(seeds)], 1)  # (B, 2): the pair (seed, 0)
                return {"images": tf.cast(sampled([images, pairs], training=False), tf.float32)}

            archive.add_endpoint("translate_sampled", endpoint(
                translate_sampled, tf.TensorSpec([None, None, None, None], tf.float32, name="images"),
                tf.TensorSpec([None], tf.int64, name="seeds")))
        return archive, contract

    def reference(self, contract, signature, inputs):
        if signature == "translate_sampled":
            pairs = np.stack([inputs["seeds"], np.zeros_like(inputs["seeds"])], 1)
            out = unet.sampled(self.game.generator)([tf.constant(inputs["images"]), tf.constant(pairs)],
                                                    training=False)
            return {"images": tf.cast(out, tf.float32).numpy()}
        return super().reference(contract, signature, inputs)

    def info(self):
        return {**super().info(),
                "translate_sampled": ("dropout masks of example i from the stateless pair (seeds[i], 0) folded "
                                      "with each dropout layer's index" if self.stochastic else None)}


class SRGANSignatures(TranslationSignatures):
    """SRGAN / SRResNet: `upscale` (also serving_default) and `upscale_png`, 4x, the input size fixed
    to the LR side the run trained at (the generator itself takes any size)."""

    def directions(self):
        return {"upscale": self.game.generator}

    def sizes(self):
        return self.game.lr_size, self.game.lr_size * self.game.scale


class CycleGANSignatures(TranslationSignatures):
    """CycleGAN: `a_to_b` (G, also serving_default) and `b_to_a` (F), each with a `_png` form."""

    def directions(self):
        return {"a_to_b": self.game.g_ab, "b_to_a": self.game.g_ba}
