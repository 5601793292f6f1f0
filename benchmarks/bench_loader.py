"""Loader throughput and peak memory: the tutorial's loop against SimpleDatasetLoader.

A third line, "decode limit", is what no loader built on OpenCV can beat on
this machine: the files already in memory (reading them is not timed), then
only the reduced-scale JPEG decode and the resize, on a thread per core. The
project's loader adds reading the files, the header checks and the
bookkeeping to that.

Each measurement runs in a fresh child process (so peak RSS is its own), the
two loaders alternate, and the medians of --repeats runs are reported with
their ratio. Run from the repository root:

    python -m benchmarks.bench_loader --dataset ../shared/data/animals --size 32 64 --repeats 5

--other-tree adds the loader of another checkout (a git worktree of an
older commit, say), timed alternately with the rest, to measure a change.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tutorial_loader(paths, size):
    # As in the tutorial: sequential imread + resize into a Python list, then
    # one float64 copy of the whole dataset scaled to [0, 1].
    import cv2
    import numpy as np
    data = []
    for path in paths:
        image = cv2.imread(path)
        data.append(cv2.resize(image, (size, size)))
    return np.array(data, dtype="float") / 255.0


def project_loader(paths, size):
    from pyimagesearch.datasets import SimpleDatasetLoader
    from pyimagesearch.preprocessing import SimplePreprocessor
    data, _ = SimpleDatasetLoader([SimplePreprocessor(size, size)]).load(paths)
    return data


def decode_limit(encoded, size):
    import cv2
    import numpy as np

    from pyimagesearch.datasets.imagefiles import _jpeg_size, _reduced_flag
    from pyimagesearch.utils.parallel import imap_ordered

    def decode(data):
        image = cv2.imdecode(data, _reduced_flag(_jpeg_size(data), size))
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    return np.stack(list(imap_ordered(decode, encoded, chunksize=8)))


def child(which, dataset, size):
    import numpy as np

    from pyimagesearch.datasets import list_images
    paths, _ = list_images(dataset, seed=42)
    if which == "limit":
        paths = [np.fromfile(path, dtype=np.uint8) for path in paths]  # not timed
    start = time.perf_counter()
    loaders = {"tutorial": tutorial_loader, "project": project_loader, "other": project_loader,
               "limit": decode_limit}
    data = loaders[which](paths, size)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images_per_s": len(data) / seconds, "peak_mib": peak_mib,
                      "dtype": str(data.dtype), "n": len(data)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--size", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--other-tree", metavar="DIR",
                        help="also time the loader of another checkout of this repository, e.g. "
                             "`git worktree add /tmp/before HEAD~1`, to measure a change")
    parser.add_argument("--child", choices=["tutorial", "project", "other", "limit"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.dataset, args.size[0])
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    other = f" --other-tree {args.other_tree}" if args.other_tree else ""
    print(f"command: python -m benchmarks.bench_loader --dataset {args.dataset} "
          f"--size {' '.join(map(str, args.size))} --repeats {args.repeats}{other}")
    for size in args.size:
        runs = {"tutorial": [], "project": [], "limit": []}
        if args.other_tree:
            runs["other"] = []
        for _ in range(args.repeats):
            for which, results in runs.items():
                # The child imports the package of the tree it measures, installed or not.
                tree = os.path.abspath(args.other_tree) if which == "other" else ROOT
                out = subprocess.run([sys.executable, __file__, "--child", which, "--dataset", args.dataset,
                                      "--size", str(size)], env=dict(os.environ, PYTHONPATH=tree),
                                     capture_output=True, text=True, check=True)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        med = {k: {m: statistics.median(r[m] for r in v) for m in ("images_per_s", "peak_mib")}
               for k, v in runs.items()}
        ratio = med["project"]["images_per_s"] / med["tutorial"]["images_per_s"]
        mem = med["project"]["peak_mib"] / med["tutorial"]["peak_mib"]
        print(f"{size}x{size}: tutorial {med['tutorial']['images_per_s']:.0f} img/s, "
              f"peak {med['tutorial']['peak_mib']:.0f} MiB | project {med['project']['images_per_s']:.0f} img/s, "
              f"peak {med['project']['peak_mib']:.0f} MiB | speed ratio {ratio:.2f}x, memory ratio {mem:.2f}")
        limit = med["limit"]["images_per_s"]
        print(f"{size}x{size}: decode limit {limit:.0f} img/s = {limit / med['tutorial']['images_per_s']:.2f}x "
              f"the tutorial's; the project's loader reaches {med['project']['images_per_s'] / limit:.0%} of it")
        if args.other_tree:
            speed = med["other"]["images_per_s"]
            print(f"{size}x{size}: loader in {args.other_tree} {speed:.0f} img/s; this tree's is "
                  f"{med['project']['images_per_s'] / speed:.2f}x as fast")


if __name__ == "__main__":
    main()
