"""Building the image cache against today's in-memory load of the same images.

Issue 24's target: building the cache of a folder dataset (decode, resize,
write to HDF5 on disk) runs at least as fast as SimpleDatasetLoader.load of
the same images into memory. Both decode alike (the cache calls the
loader's load_one), so the difference is writing to disk against filling
one array in RAM.

The dataset is a replica of Animals made of symlinks (each file linked
several times under new names), built once with --make-replica. Each
measurement runs in a fresh child process (its own peak RSS); load and
build alternate, --repeats times, and the medians are reported with their
ratio. Each build starts from an empty cache folder; after it, the cache is
reopened (reused) and read back in shuffled batches of 32, untimed in the
build. Run from the repository root:

    python -m benchmarks.bench_imagecache --make-replica /tmp/animals_12000 \\
        --source ../shared/data/animals --images 12000
    python -m benchmarks.bench_imagecache --dataset /tmp/animals_12000 --size 64 --repeats 3
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = """
import json, resource, sys, time
from pyimagesearch.datasets import SimpleDatasetLoader
from pyimagesearch.datasets.folder import find_dataset
from pyimagesearch.io.imagecache import open_cache
from pyimagesearch.preprocessing import RESIZERS

kind, dataset, size, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
paths, labels = find_dataset(dataset, seed=42)
start, cpu = time.perf_counter(), time.process_time()
if kind == "load":
    data, _ = SimpleDatasetLoader([RESIZERS["simple"](size, size)]).load(paths, labels=labels)
    n = len(data)
else:
    with open_cache(dataset, paths, labels, size, size, folder=folder) as cache:
        n = cache.num_images
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
read_rate = None
if kind == "build":  # then every row once, in shuffled batches of 32, as a trainer streams them
    import numpy as np
    with open_cache(dataset, paths, labels, size, size, folder=folder) as cache:
        order = np.random.default_rng(0).permutation(cache.num_images)
        start = time.perf_counter()
        for i in range(0, len(order), 32):
            cache.read(order[i:i + 32])
        read_rate = cache.num_images / (time.perf_counter() - start)
print(json.dumps({"n": n, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb,
                  "read_img_s": read_rate}))
"""


def make_replica(source, target, images):
    """<target>/<class>/<copy>_<file>: symlinks to the source's files, cycling
    through them until `images` links exist, classes kept balanced."""
    classes = sorted(d for d in os.listdir(source) if os.path.isdir(os.path.join(source, d)))
    per_class = images // len(classes)
    for name in classes:
        files = sorted(os.listdir(os.path.join(source, name)))
        os.makedirs(os.path.join(target, name), exist_ok=True)
        for i in range(per_class):
            copy, file = divmod(i, len(files))
            link = os.path.join(target, name, f"{copy:02d}_{files[file]}")
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(os.path.join(source, name, files[file])), link)
    print(f"{target}: {per_class * len(classes)} images (symlinks)")


def measure(kind, dataset, size):
    folder = tempfile.mkdtemp(prefix="bench-imagecache-")
    try:
        # The child imports this checkout's package, installed or not.
        out = subprocess.run([sys.executable, "-c", CHILD, kind, dataset, str(size), folder],
                             env=dict(os.environ, PYTHONPATH=ROOT), check=True, capture_output=True,
                             text=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    finally:
        shutil.rmtree(folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", help="a folder dataset (a replica made with --make-replica)")
    parser.add_argument("--size", type=int, nargs="+", default=[64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--make-replica", metavar="TARGET")
    parser.add_argument("--source", default=os.path.join(ROOT, "..", "shared", "data", "animals"))
    parser.add_argument("--images", type=int, default=12000)
    args = parser.parse_args()
    if args.make_replica:
        make_replica(args.source, args.make_replica, args.images)
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    print("command: python " + " ".join(sys.argv))
    for size in args.size:
        results = {"load": [], "build": []}
        for _ in range(args.repeats):
            for kind, runs in results.items():  # alternating, so a busy spell hits both
                runs.append(r := measure(kind, args.dataset, size))
                print(f"  {size}px {kind:5s}: {r['n']} images in {r['seconds']:.1f}s "
                      f"({r['cpu_seconds']:.1f}s CPU), "
                      f"peak {r['peak_mb']:.0f} MB", flush=True)
        report(size, results)


def report(size, results):
    def median(kind, key):
        return statistics.median(r[key] for r in results[kind])

    def extreme(kind, key, pick):
        return pick(r[key] for r in results[kind])

    n = results["load"][0]["n"]
    load, build = median("load", "seconds"), median("build", "seconds")
    load_cpu, build_cpu = median("load", "cpu_seconds"), median("build", "cpu_seconds")
    best = extreme("load", "seconds", min) / extreme("build", "seconds", min)
    print(f"{size}px, {n} images: in-memory load {n / load:.0f} img/s (median {load:.1f}s), cache build "
          f"{n / build:.0f} img/s (median {build:.1f}s); build/load speed {load / build:.2f}x "
          f"(best runs {best:.2f}x; CPU time {load_cpu:.1f}s against {build_cpu:.1f}s, "
          f"{load_cpu / build_cpu:.2f}x)")
    print(f"  peak RSS: load {extreme('load', 'peak_mb', max):.0f} MB, build "
          f"{extreme('build', 'peak_mb', max):.0f} MB; the cache read back in shuffled batches of 32: "
          f"{median('build', 'read_img_s'):.0f} img/s (median)")

if __name__ == "__main__":
    main()
