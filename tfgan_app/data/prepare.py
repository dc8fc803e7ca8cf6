"""Write an image source as sharded TFRecords that `--dataset tfrecords:DIR` streams.

    python -m tfgan_app.data.prepare SOURCE --out DIR [--shards 16] [--image-size S] [--channels C] [--seed 0]
    python -m tfgan_app.data.prepare --verify DIR

SOURCE is any image spec train.py takes (tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR,
npz:FILE).  Images are cropped, resized and converted exactly as training would do it
(images.load_examples), once, and written as raw pixels (records.py).  Sources that allow
random access (mnist-idx:, folder:, npz:) are written in a random order of --seed, so each
shard holds a random sample even of a class-sorted folder; tfds: keeps its own order.
--verify reads every shard and checks it against dataset.json's sha256.
"""

from __future__ import annotations

import json
import sys
import time

from tfgan_app.cli import ArgumentParser
from tfgan_app.data import images, records


def prepare(source: str, out, *, shards: int = 16, image_size: int = 0, channels: int = 0, seed: int = 0,
            data_dir: str = ""):
    """Writes `source`'s images and labels to `out` (records.write); returns the Description.

    Raises:
      DataError: the source cannot be read, `out` is not empty, or the shard count does not fit.
    """
    examples, info = images.load_examples(source, image_size=image_size or None, channels=channels or None,
                                          data_dir=data_dir or None, order_seed=seed)
    return records.write(examples, out, names=("image", "label"), shards=shards, source=info.name,
                         num_classes=info.num_classes, write_seed=seed)


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m tfgan_app.data.prepare", description=__doc__)
    p.add_argument("source", nargs="?", help="an image dataset spec, e.g. folder:photos or tfds:mnist")
    p.add_argument("--out", help="the dataset directory to write (new, or empty)")
    p.add_argument("--shards", type=int, default=16, help="number of TFRecord files (default 16; at least the "
                   "number of workers that will read them)")
    p.add_argument("--image-size", type=int, default=0, help="center-crop and resize to S x S (folder: needs it)")
    p.add_argument("--channels", type=int, default=0, help="1 or 3 (default: the source's)")
    p.add_argument("--seed", type=int, default=0, help="the write order's seed (default 0)")
    p.add_argument("--data-dir", default="", help="tensorflow-datasets data directory (tfds: specs)")
    p.add_argument("--verify", metavar="DIR", help="check every shard of DIR against its dataset.json, then exit")
    args = p.parse_args(argv)
    if args.verify:
        if args.source or args.out:
            p.error("--verify DIR takes no SOURCE or --out")
    elif not args.source or not args.out:
        p.error("expected SOURCE and --out DIR (or --verify DIR)")
    start = time.time()
    try:
        if args.verify:
            description = records.verify(args.verify)
            print(f"{args.verify}: {description.num_examples:,} examples in {len(description.shards)} shards, "
                  f"every sha256 as dataset.json says ({time.time() - start:.1f} s)")
            return 0
        description = prepare(args.source, args.out, shards=args.shards, image_size=args.image_size,
                              channels=args.channels, seed=args.seed, data_dir=args.data_dir)
    except ValueError as e:  # DataError
        print(f"{p.prog}: error: {e}", file=sys.stderr)
        return 2
    total = sum(s.bytes for s in description.shards)
    print(json.dumps({k: v for k, v in description.to_json().items() if k != "shards"}))
    print(f"{description.num_examples:,} examples of {description.source} -> {args.out} ({len(description.shards)} "
          f"shards, {total / 1e6:.1f} MB, {time.time() - start:.1f} s); train with --dataset tfrecords:{args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
