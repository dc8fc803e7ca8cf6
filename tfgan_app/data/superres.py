"""Super-resolution data (SRGAN): batches of (low-resolution images, high-resolution crops).

    sr:SPEC      any image source of data/images.py (folder:DIR, npz:FILE, tfds:NAME:SPLIT, ...),
                 its images at their own sizes (folder: needs no --image-size here)
    sr-photos    the real photographs scikit-image and scikit-learn ship in their wheels
                 (SR_PHOTOS), without the HELD_OUT_PHOTOS the Q7 benchmark scores

Each example is a random --image-size x --image-size crop of one image (the paper's 96) and
its bicubic 4x downsample made in the pipeline (`downsample`: antialiased bicubic, as MATLAB's
imresize the SR literature uses), both in [-1, 1] (the paper feeds LR in [0, 1]; one range for
both keeps the export's PNG rule the same).  The image, the crop and a left-right mirror
(--mirror) are stateless draws from (seed, batch index): a resumed run sees the same crops.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.data import images
from tfgan_app.data.images import DataError

SCHEMES = ("sr", "sr-photos")
SPEC_FORMS = "sr:SPEC (an image spec), sr-photos"
SCALE = 4              # the paper's upscaling factor
MAX_SIDE = 1024        # larger photographs keep their centre MAX_SIDE x MAX_SIDE (memory)
CROP_SALT = 0x5C0F
# skimage.data functions (colour and greyscale photographs bundled in the wheel) and
# sklearn.datasets.load_sample_images' two; greyscale ones are replicated to RGB.
SR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina", "immunohistochemistry",
             "grass", "gravel", "brick", "camera", "moon", "china", "flower")
HELD_OUT_PHOTOS = ("astronaut", "chelsea", "flower")  # scored, never trained on


@dataclasses.dataclass
class SuperResStream:
    batches: Callable[[int], tf.data.Dataset]  # start_batch -> (LR (B, s, s, 3), HR (B, 4s, 4s, 3)) in [-1, 1]
    shape: dict                                # {"low": (s, s, 3), "high": (4s, 4s, 3)}
    name: str


def downsample(hr, scale: int = SCALE):
    """HR images (B, H, W, C) in [-1, 1] -> their bicubic, antialiased 1/scale downsample, clipped."""
    h, w = hr.shape[1], hr.shape[2]
    lr = tf.image.resize(hr, (h // scale, w // scale), method="bicubic", antialias=True)
    return tf.clip_by_value(lr, -1.0, 1.0)


def photo(name: str) -> np.ndarray:
    """One bundled photograph, uint8 (H, W, 3).

    Raises:
      DataError: the package is missing or the photograph is not in its wheel.
    """
    try:
        if name in ("china", "flower"):
            from sklearn.datasets import load_sample_image
            image = load_sample_image(f"{name}.jpg")
        else:
            from skimage import data as skdata
            image = getattr(skdata, name)()
    except ImportError as e:
        raise DataError(f"--dataset sr-photos: needs scikit-image and scikit-learn "
                        f"(pip install -r requirements.txt): {e}") from None
    except Exception as e:  # skimage fetches some images from the network: not these
        raise DataError(f"--dataset sr-photos: cannot read photograph {name!r} offline: {e}") from None
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, -1)
    return image[..., :3].astype(np.uint8)


def photos(part: str = "train") -> dict:
    """name -> photograph of `part`: "train" (SR_PHOTOS less HELD_OUT_PHOTOS) or "held_out"."""
    names = [n for n in SR_PHOTOS if (n in HELD_OUT_PHOTOS) == (part == "held_out")]
    return {n: photo(n) for n in names}


def _centre(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[top:top + side, left:left + side]


def open_superres(config) -> SuperResStream:
    """Random HR crops of --image-size (a multiple of 4) and their LR downsamples, batch_size a step."""
    crop = config.image_size
    if not crop or crop % SCALE:
        raise DataError(f"--image-size {crop}: the HR crop side, a multiple of {SCALE} (the paper's 96)")
    scheme, _, arg = str(config.dataset).partition(":")
    if scheme == "sr-photos":
        pictures, name = list(photos("train").values()), "sr-photos (train part)"
    else:
        if not arg:
            raise DataError(f"--dataset {config.dataset!r}: expected {SPEC_FORMS}")
        pictures, name = _spec_images(config, arg), f"sr:{arg}"
    pictures = [_centre(p, MAX_SIDE) for p in pictures]
    small = [p.shape[:2] for p in pictures if min(p.shape[:2]) < crop]
    if small:
        raise DataError(f"--dataset {config.dataset}: {len(small)} image(s) are smaller than the --image-size "
                        f"{crop} crop (e.g. {small[0][0]}x{small[0][1]})")
    h_max, w_max = max(p.shape[0] for p in pictures), max(p.shape[1] for p in pictures)
    store = np.zeros((len(pictures), h_max, w_max, 3), np.uint8)  # padded; crops stay inside each image
    for i, p in enumerate(pictures):
        store[i, :p.shape[0], :p.shape[1]] = p
    sizes = tf.constant([p.shape[:2] for p in pictures], tf.int32)  # (N, 2)
    everything = tf.constant(store)
    n, per_step, seed = len(pictures), config.batch_size * config.n_critic, int(config.seed)

    def batch(index):
        pair = tf.random.experimental.stateless_fold_in(tf.stack([tf.constant(seed, tf.int64), index]), CROP_SALT)
        pick_seed, y_seed, x_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(pair, 4))
        which = tf.random.stateless_uniform([per_step], pick_seed, 0, n, dtype=tf.int32)
        room = tf.gather(sizes, which) - crop + 1  # (B, 2): crop offsets 0..room-1
        top = tf.cast(tf.random.stateless_uniform([per_step], y_seed) * tf.cast(room[:, 0], tf.float32), tf.int32)
        left = tf.cast(tf.random.stateless_uniform([per_step], x_seed) * tf.cast(room[:, 1], tf.float32), tf.int32)
        starts = tf.stack([which, top, left, tf.zeros_like(which)], 1)
        hr = tf.map_fn(lambda s: tf.slice(everything, s, [1, crop, crop, 3])[0], starts,
                       fn_output_signature=tf.TensorSpec([crop, crop, 3], tf.uint8))
        hr = tf.cast(hr, tf.float32) / 127.5 - 1.0
        if config.mirror:
            flip = tf.random.stateless_uniform([per_step], flip_seed) < 0.5
            hr = tf.where(flip[:, None, None, None], tf.reverse(hr, [2]), hr)
        return downsample(hr), hr

    def batches(start_batch: int) -> tf.data.Dataset:
        return (tf.data.Dataset.counter(start=int(start_batch), dtype=tf.int64).map(batch)
                .prefetch(tf.data.AUTOTUNE))

    lr_side = crop // SCALE
    return SuperResStream(batches, {"low": (lr_side, lr_side, 3), "high": (crop, crop, 3)}, name)


def _spec_images(config, arg: str) -> list:
    """Every image of an image spec at its own size (folder: files are read one by one)."""
    scheme = arg.partition(":")[0]
    if scheme == "folder":
        from PIL import Image

        folder = images._existing(f"sr:{arg}", arg.partition(":")[2], directory=True)
        files = images.image_files(folder, recursive=True)
        if not files:
            raise DataError(f"--dataset sr:{arg}: {folder} has no images ({', '.join(images.IMAGE_EXTENSIONS)})")
        for p in files:
            images.check_image(f"sr:{arg}", p)
        return [np.asarray(Image.open(p).convert("RGB")) for p in files]
    examples, source = images.load_examples(arg, channels=3, data_dir=config.data_dir or None)
    return [x.numpy() for x, _ in examples]
