"""HDF5 stage timings: build_hdf5's parallel build against a one-image-at-a-
time sequential build with identical output, and crop_accuracy's batched
10-crop evaluation against a per-image loop and one plain batched predict
over the same number of crops. Not part of CI. Run from the repository root:

    python -m benchmarks.bench_hdf5 --dataset ../shared/data/animals --repeats 3

Prints the command, the machine and the medians, and writes them as
Markdown to --output (default: benchmarks/RESULTS_hdf5.md).
"""
import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py
import numpy as np

from pyimagesearch.datasets import UnreadableImage, read_image
from pyimagesearch.datasets.folder import encode_labels, find_dataset
from pyimagesearch.datasets.imagefiles import DecodeOptions
from pyimagesearch.datasets.split import SplitOptions, stratified_split
from pyimagesearch.io import HDF5DatasetWriter
from pyimagesearch.io.hdf5build import SPLITS, SplitFiles, build_hdf5, write_splits
from pyimagesearch.preprocessing import AspectAwarePreprocessor


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.platform()}, {model}, {os.cpu_count()} CPUs, python "
            f"{platform.python_version()}, load average {load:.2f} at start (shared machine)")


def sequential_build(paths, names, output, size):
    """The straightforward loop, with build_hdf5's two passes and output:
    decode, resize and append one image at a time to a staging file, then
    split the readable images and copy them into the split files."""
    resizer = AspectAwarePreprocessor(*size)
    os.makedirs(output, exist_ok=True)
    staged = os.path.join(output, "all.hdf5")
    kept = []
    with HDF5DatasetWriter((len(paths), size[1], size[0], 3), staged, buf_size=128,
                           atomic=False) as writer:
        for i, path in enumerate(paths):
            try:
                image = resizer.preprocess(read_image(path, min_size=max(size)))
            except UnreadableImage:
                continue
            writer.add(image[np.newaxis], [i])
            kept.append(i)
    labels, class_names = encode_labels([names[i] for i in kept])
    splits = stratified_split(np.arange(len(kept)), labels, 0.25, 0.1, 42)
    with h5py.File(staged, "r") as db:
        write_splits(db["images"], splits, SplitFiles(output, class_names, {}, [paths[i] for i in kept]))
    os.remove(staged)


def same_output(a, b):
    for split in SPLITS:
        with h5py.File(os.path.join(a, f"{split}.hdf5")) as x, \
                h5py.File(os.path.join(b, f"{split}.hdf5")) as y:
            if not (np.array_equal(x["images"][:], y["images"][:])
                    and np.array_equal(x["labels"][:], y["labels"][:])):
                return False
    return True


def bench_build(dataset, size, repeats, scratch):
    paths, names = find_dataset(dataset, seed=42)
    times = {"sequential": [], "parallel": []}
    for _ in range(repeats):
        for which in ("sequential", "parallel"):
            out = os.path.join(scratch, which)
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            if which == "parallel":
                os.makedirs(out)
                build_hdf5(dataset, paths, names, out, SplitOptions(0.25, 0.1, 42), DecodeOptions(*size, "aspect"))
            else:
                sequential_build(paths, names, out, size)
            times[which].append(time.perf_counter() - start)
    identical = same_output(os.path.join(scratch, "sequential"), os.path.join(scratch, "parallel"))
    rates = {k: len(paths) / statistics.median(v) for k, v in times.items()}
    return len(paths), rates, identical, os.path.join(scratch, "parallel")


def bench_crops(hdf5_dir, n_images, crop, batch_images, repeats):
    import keras

    from pyimagesearch.evaluation.cropaccuracy import ten_crop_batch
    from pyimagesearch.nn.conv import AlexNet

    with h5py.File(os.path.join(hdf5_dir, "test.hdf5")) as db:
        images = db["images"][:n_images]
    model = AlexNet.build(crop, crop, 3, 3)  # timing only: untrained weights are fine
    spec = {"width": crop, "height": crop, "scale": 1.0, "mean": [100.0, 110.0, 120.0]}
    keras.utils.set_random_seed(0)

    def batched():  # crop_accuracy: many images' crops per call
        for i in range(0, len(images), batch_images):
            model.predict_on_batch(ten_crop_batch(images[i:i + batch_images], crop, crop, spec))

    def per_image():  # one model.predict per image on its 10 crops
        for image in images:
            model.predict(ten_crop_batch(image[np.newaxis], crop, crop, spec), verbose=0)

    all_crops = np.asarray(ten_crop_batch(images, crop, crop, spec))

    def plain():  # the floor: one predict over the same crops, already prepared
        model.predict(all_crops, batch_size=batch_images * 10, verbose=0)

    model.predict_on_batch(all_crops[:10])  # warm-up
    times = {"batched 10-crop (crop_accuracy)": [], "per-image predict loop": [],
             "plain batched predict, same crops": []}
    for _ in range(repeats):
        for name, fn in zip(times, (batched, per_image, plain)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--size", type=int, default=256, help="stored size (default: %(default)s)")
    parser.add_argument("--crop", type=int, default=227, help="model input (default: %(default)s)")
    parser.add_argument("--crop-images", type=int, default=100,
                        help="test images for the 10-crop timing; 0 skips it (default: %(default)s)")
    parser.add_argument("--batch-images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "RESULTS_hdf5.md"))
    args = parser.parse_args()
    command = (f"python -m benchmarks.bench_hdf5 --dataset {args.dataset} --size {args.size} "
               f"--crop {args.crop} --crop-images {args.crop_images} --batch-images "
               f"{args.batch_images} --repeats {args.repeats}")
    lines = [f"command: `{command}`", f"machine: {machine()}", ""]
    print("\n".join(lines), flush=True)
    scratch = tempfile.mkdtemp(prefix="bench_hdf5_")
    try:
        n, rates, identical, hdf5_dir = bench_build(args.dataset, (args.size, args.size),
                                                    args.repeats, scratch)
        build = [(f"### build_hdf5 at {args.size}x{args.size}, {n} images, median of {args.repeats} "
                 "alternating runs"), "",
                 "| build | images/s |", "| --- | --- |",
                 f"| sequential, one image at a time | {rates['sequential']:.0f} |",
                 f"| build_hdf5 (decoding threads, ordered writer) | {rates['parallel']:.0f} |", "",
                 (f"ratio {rates['parallel'] / rates['sequential']:.2f}x; outputs identical: "
                 f"{identical}"), ""]
        print("\n".join(build), flush=True)
        crops = {} if args.crop_images == 0 else bench_crops(hdf5_dir, args.crop_images, args.crop,
                                                            args.batch_images, args.repeats)
        base = crops.get("batched 10-crop (crop_accuracy)")
        crop_lines = [] if not crops else [(f"### 10-crop evaluation, AlexNet {args.crop}x{args.crop}, {args.crop_images} "
                      f"test images = {args.crop_images * 10} crops, median of {args.repeats}"), "",
                      "| method | seconds | images/s | vs crop_accuracy |", "| --- | --- | --- | --- |"]
        for name, seconds in crops.items():
            crop_lines.append(f"| {name} | {seconds:.1f} | {args.crop_images / seconds:.1f} | "
                              f"{seconds / base:.2f}x |")
        print("\n".join(crop_lines), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("## HDF5 stage (benchmarks/bench_hdf5.py)\n\n" + "\n".join(lines + build + crop_lines)
                + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
