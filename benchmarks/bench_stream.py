"""What streaming from the disk cache costs in training speed: one model,
trained epoch after epoch in one process, alternately fed from the images
held in memory and from the cache on disk (the same split, batches and
augmentation), so that machine noise hits both alike. Prints each epoch's
images/s and the median and best of each, and their ratio.

    python -m benchmarks.bench_stream --dataset ../shared/data/animals --rounds 4

The first epoch of each (tf.data and Keras warming up) is left out.
"""
import argparse
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "animals"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="timed epochs of each (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    print("command: python " + shlex.join(sys.argv))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start")
    import keras

    from pyimagesearch.datasets.folder import find_dataset
    from pyimagesearch.nn.conv import SmallVGGNet
    from pyimagesearch.preprocessing.augmentation import image_augmentation
    from pyimagesearch.training.data import BatchOptions, input_spec_for, part_dataset
    from pyimagesearch.training.sources import Storage, load_split

    paths, labels = find_dataset(args.dataset, seed=42)
    spec = input_spec_for(args.size, args.size)
    with tempfile.TemporaryDirectory() as cache:
        splits = {mode: load_split(args.dataset, paths, labels, args.size, args.size,
                                   storage=Storage(mode, cache)) for mode in ("memory", "stream")}
        options = BatchOptions(augmentation=image_augmentation(seed=42))
        feeds = {mode: part_dataset(split.train, args.batch_size, spec, shuffle=True, seed=42, options=options)
                 for mode, split in splits.items()}
        keras.utils.set_random_seed(42)
        model = SmallVGGNet.build(args.size, args.size, 3, len(splits["memory"].class_names))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        n = len(splits["memory"].train)
        rates = {"memory": [], "stream": []}
        for round_ in range(args.rounds + 1):
            order = ("memory", "stream") if round_ % 2 == 0 else ("stream", "memory")
            for mode in order:
                start = time.perf_counter()
                model.fit(feeds[mode], epochs=1, verbose=0)
                rate = n / (time.perf_counter() - start)
                if round_:  # the first round warms up
                    rates[mode].append(rate)
                print(f"round {round_}{' (warm-up)' if not round_ else ''}: {mode:6s} {rate:6.1f} images/s",
                      flush=True)
    median = {mode: statistics.median(r) for mode, r in rates.items()}
    best = {mode: max(r) for mode, r in rates.items()}
    print("\n| feed | median images/s | best images/s |\n| --- | --- | --- |")
    for mode in rates:
        print(f"| {mode} | {median[mode]:.1f} | {best[mode]:.1f} |")
    print(f"\nstream / memory: median {median['stream'] / median['memory']:.3f}x, "
          f"best {best['stream'] / best['memory']:.3f}x ({n} training images of {args.size}x{args.size}, "
          f"{args.rounds} timed epochs each)")


if __name__ == "__main__":
    main()
