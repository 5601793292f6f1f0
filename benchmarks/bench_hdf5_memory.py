"""Peak memory while training from HDF5 does not grow with the file's size.

Takes the train.hdf5 of a build_hdf5.py output folder, writes a copy with
its rows repeated --times times (4 by default), and for each of the two
files, in a fresh process (so peak RSS is its own), runs one epoch of
`model.fit` fed by HDF5Sequence with train_alexnet.py's training pipeline
(random crops, mean subtraction, augmentation, background threads). The
model is a tiny convnet so the epoch takes seconds: what is measured is the
data pipeline, not AlexNet's weights. The baseline, measured in the same
run, is the in-memory way: `images[:]` read into one array.

    python build_hdf5.py --dataset ../shared/data/animals --output /tmp/hdf5
    python -m benchmarks.bench_hdf5_memory --hdf5 /tmp/hdf5 --times 4 --repeats 3
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def repeat_file(source, target, times):
    """Write `source`'s rows `times` times over into `target` (same layout)."""
    import h5py

    from pyimagesearch.io.hdf5file import chunk_rows
    with h5py.File(source, "r") as src, h5py.File(target, "w") as dst:
        images, labels = src["images"], src["labels"]
        n = images.shape[0]
        out = dst.create_dataset("images", (n * times,) + images.shape[1:], dtype=images.dtype,
                                 chunks=(chunk_rows(images.shape[1:]),) + images.shape[1:])
        out_labels = dst.create_dataset("labels", (n * times,), dtype=labels.dtype)
        dst.create_dataset("label_names", data=src["label_names"][:], dtype=src["label_names"].dtype)
        dst.attrs.update(dict(src.attrs))
        step = 256
        for copy in range(times):
            for start in range(0, n, step):
                stop = min(n, start + step)
                out[copy * n + start:copy * n + stop] = images[start:stop]
                out_labels[copy * n + start:copy * n + stop] = labels[start:stop]


def child(mode, path, means, size, batch_size):
    import h5py
    import keras
    start = time.perf_counter()
    if mode == "in-memory":
        with h5py.File(path, "r") as db:
            images = db["images"][:]
        rows = len(images)
        checksum = int(images[:, 0, 0, 0].sum())
    else:
        from pyimagesearch.io.hdf5sequence import HDF5Sequence
        from pyimagesearch.preprocessing import MeanPreprocessor, PatchPreprocessor
        from pyimagesearch.preprocessing.augmentation import image_augmentation
        keras.utils.set_random_seed(42)
        train = HDF5Sequence(path, batch_size, shuffle=True, seed=42, workers=2,
                             preprocessors=[PatchPreprocessor(size, size, seed=42),
                                            MeanPreprocessor(means["R"], means["G"], means["B"])],
                             aug=image_augmentation(rotation=20, zoom=0.15, shift=0.2, shear=0.15,
                                                    seed=42))
        model = keras.Sequential([
            keras.Input((size, size, 3)),
            keras.layers.Conv2D(8, 11, strides=8, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(train.class_names), activation="softmax"),
        ])
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(train, epochs=1, verbose=0)
        rows, checksum = train.num_images, 0
        train.close()
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak_mib, "checksum": checksum}))


def measure(mode, path, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--hdf5", args.hdf5,
           "--file", path, "--size", str(args.size), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hdf5", required=True, help="a build_hdf5.py output folder")
    parser.add_argument("--times", type=int, default=4, help="how many times larger the big file is")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=227)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--child", choices=["in-memory", "hdf5sequence"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from pyimagesearch.io.hdf5file import load_means
        child(args.child, args.file, load_means(args.hdf5), args.size, args.batch_size)
        return
    print("command: python " + " ".join(sys.argv))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    small = os.path.join(args.hdf5, "train.hdf5")
    with tempfile.TemporaryDirectory(dir=args.hdf5) as tmp:
        big = os.path.join(tmp, f"train_x{args.times}.hdf5")
        repeat_file(small, big, args.times)
        files = {"1x": small, f"{args.times}x": big}
        results = {(mode, name): [] for mode in ("hdf5sequence", "in-memory") for name in files}
        for _ in range(args.repeats):
            # Alternate the sizes and modes so machine noise hits each alike.
            for (mode, name), runs in results.items():
                runs.append(measure(mode, files[name], args))
    print("\n| pipeline | file | rows | peak RSS (MiB, median) | seconds (median) |")
    print("| --- | --- | --- | --- | --- |")
    peaks = {}
    for (mode, name), runs in results.items():
        peaks[mode, name] = statistics.median(r["peak_mib"] for r in runs)
        print(f"| {mode} | {name} | {runs[0]['rows']} | {peaks[mode, name]:.0f} | "
              f"{statistics.median(r['seconds'] for r in runs):.1f} |")
    big_name = f"{args.times}x"
    for mode in ("hdf5sequence", "in-memory"):
        print(f"\n{mode}: peak RSS {big_name} / 1x = {peaks[mode, big_name] / peaks[mode, '1x']:.2f}")


if __name__ == "__main__":
    main()
