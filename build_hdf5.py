"""Split a folder of images into train/val/test and write each split to an
HDF5 file, ready for train_alexnet.py and crop_accuracy.py.

Reads <dataset>/<class>/<images>. Decodes every image once, resized
aspect-aware (shorter side to --stored-size, then center crop); unreadable files
are skipped and listed, and a class with no readable image is left out.
Then makes a stratified split of the readable images (--test-size out of
everything, then --val-size out of the rest) and writes to --output:
train.hdf5, val.hdf5, test.hdf5, mean.json (the training split's
per-channel R, G, B means) and summary.json (images per class and split,
skipped files, timing). The same dataset and --seed give byte-identical
HDF5 files.

HDF5 layout (plain h5py reads it):
    images       uint8 (N, H, W, 3), BGR channel order
    labels       int64 (N,), index into label_names
    label_names  (C,) UTF-8 strings
    paths        (N,) UTF-8 strings, each image's file relative to `source`
    attributes   format, channel_order, width, height, source, split

Nothing half-written is left at --output: files are built in a hidden folder
and moved into place when all are complete; Ctrl-C or `kill` leaves the
previous outputs as they were. Existing outputs are kept unless --force is
given.

    python build_hdf5.py --dataset animals --output output/hdf5
"""
import argparse
import sys

from pyimagesearch import cli
from pyimagesearch.datasets.folder import find_dataset
from pyimagesearch.utils.errors import run_cli


def image_size(text):
    """'256' or '256x256' (width x height)."""
    parts = text.lower().split("x")
    try:
        width, height = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, 0)
    except ValueError:
        width = height = 0
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"expected a size like 256 or 256x256, got {text!r}")
    return width, height


def parse_args(argv):
    parser = cli.make_parser(__doc__)
    data = cli.add_dataset_arguments(parser, split=True)
    parser.set_defaults(resize="aspect")
    # --stored-size, not --size: in the trainers --size is the model's input.
    data.add_argument("--stored-size", dest="size", type=image_size, default=(256, 256),
                      help="stored image size, WIDTH or WIDTHxHEIGHT (default: 256x256)")
    cli.add_hidden_alias(data, "--size", dest="size", type=image_size)
    out = parser.add_argument_group("output")
    out.add_argument("-o", "--output", default="output/hdf5",
                     help="folder for the HDF5 files, mean.json and summary.json "
                          "(default: %(default)s)")
    out.add_argument("--force", action="store_true", help="overwrite earlier outputs")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.resize != "aspect":
        print("[NOTE] build_hdf5.py always resizes aspect-aware; --resize is ignored", file=sys.stderr)
    from pyimagesearch.io.hdf5build import build_hdf5, check_output, check_split
    from pyimagesearch.utils.atomic import report_replaced

    replaced = check_output(args.output, args.force)
    paths, names = find_dataset(args.dataset, label_from=args.labels, seed=args.seed,
                                  exclude=args.exclude)
    check_split(paths, names, args.test_size, args.val_size, args.seed)
    width, height = args.size
    print(f"[INFO] decoding {len(paths)} images of {len(set(names))} classes at {width}x{height}, "
          f"then writing train/val/test to {args.output}/")
    summary = build_hdf5(args.dataset, paths, names, args.output, cli.split_options(args),
                         cli.decode_options(args, resize="aspect"), run={"arguments": vars(args)})
    kept = sum(sum(c.values()) for c in summary["counts"].values())
    print(f"[INFO] wrote {kept} images in {summary['seconds']:.1f}s "
          f"({summary['images_per_s']:.0f} images/s)"
          + (f"; skipped {len(summary['skipped'])}" if summary["skipped"] else ""))
    for split, counts in summary["counts"].items():
        print(f"  {split:6s}" + "  ".join(f"{name}: {n}" for name, n in counts.items()))
    print(f"[INFO] outputs: {', '.join(f'{s}.hdf5' for s in summary['counts'])}, mean.json, "
          f"summary.json in {args.output}/")
    report_replaced(replaced)


if __name__ == "__main__":
    sys.exit(run_cli(main))
