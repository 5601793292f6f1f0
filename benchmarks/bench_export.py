"""What export.py buys: a model's .keras (or .skops) original against its
.onnx and .tflite exports (and the _int8 ones, when present), in one run.

1. One image in a fresh process (`predict.py --no-annotate`, as a user runs
   it): wall time and peak resident memory of the child, alternating the
   formats, --repeats times; median and best.
2. Throughput as a user gets it: `predict.py --image <folder of --images
   images of --dataset> --no-annotate` in a fresh process per format,
   alternating, --folder-repeats times: wall time (start-up, imports,
   decoding and the model), images/s and peak resident memory.
3. Throughput, model time only: the same images decoded and prepared once,
   then classified in batches of --batch-size by each runtime in this
   process, alternating (decoding is shared, so this is the stricter
   comparison of the runtimes themselves); then the .onnx file with the
   onnxruntime settings predict.py uses against spinning threads and one
   thread.
4. Agreement on the run's own test split: top-1 agreement with the original,
   test accuracy, largest probability difference, file size.

    python -m benchmarks.bench_export --model output/smallvggnet.keras --dataset ../shared/data/animals \
        --image ../shared/data/images/cat.jpg

Export first: python export.py --model output/smallvggnet.keras --format onnx litert --int8
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def variants(model):
    """(label, path) of the original and every export of it that exists."""
    stem = os.path.splitext(model)[0]
    found = [("original", model)]
    for suffix, label in ((".onnx", "onnx"), (".tflite", "tflite"), ("_int8.onnx", "onnx int8"),
                          ("_int8.tflite", "tflite int8")):
        if os.path.exists(stem + suffix):
            found.append((label, stem + suffix))
    return found


def fresh_process(path, image):
    """(wall seconds, peak RSS MiB) of predict.py classifying `image` (a file
    or a folder)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "predict.py"), "--model", path, "--image",
                             image, "--no-annotate"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"predict.py failed on {path}")
    return wall, usage.ru_maxrss / 1024


def summary(values):
    return statistics.median(values), min(values)


def fresh_runs(found, image, repeats):
    """{label: [(wall s, peak RSS MiB)]} of predict.py on `image`, the
    formats alternating."""
    results = {label: [] for label, _ in found}
    for _ in range(repeats):
        for label, path in found:
            results[label].append(fresh_process(path, image))
    return results


def bench_fresh(found, image, repeats):
    results = fresh_runs(found, image, repeats)
    print(f"\n## One image in a fresh process (predict.py, {repeats} alternating runs; median, best)\n")
    print("| model | wall s | wall vs original | peak RSS MiB | RSS vs original |\n| --- | --- | --- | --- | --- |")
    base_wall = statistics.median(w for w, _ in results["original"])
    base_rss = statistics.median(r for _, r in results["original"])
    for label, runs in results.items():
        (wall, best), (rss, _) = summary([w for w, _ in runs]), summary([r for _, r in runs])
        print(f"| {label} | {wall:.2f} (best {best:.2f}) | {wall / base_wall:.0%} | {rss:.0f} | "
              f"{rss / base_rss:.0%} |")


def bench_folder(found, paths, repeats):
    """predict.py on a folder of `paths` (links, so nothing is copied), as a
    user classifies a folder: start-up and decoding included."""
    with tempfile.TemporaryDirectory() as folder:
        for i, path in enumerate(paths):
            os.symlink(os.path.abspath(path), os.path.join(folder, f"{i:05d}_{os.path.basename(path)}"))
        results = fresh_runs(found, folder, repeats)
    n = len(paths)
    print(f"\n## {n} images in a fresh process (predict.py --image <folder> --no-annotate, {repeats} "
          "alternating runs; wall time includes start-up, imports and decoding)\n")
    print("| model | wall s median (best) | images/s median (best) | vs original | peak RSS MiB |\n"
          "| --- | --- | --- | --- | --- |")
    base = statistics.median(w for w, _ in results["original"])
    for label, runs in results.items():
        wall, best = summary([w for w, _ in runs])
        print(f"| {label} | {wall:.1f} ({best:.1f}) | {n / wall:.0f} ({n / best:.0f}) | {base / wall:.2f}x | "
              f"{statistics.median(r for _, r in runs):.0f} |")


def open_runtimes(found):
    from pyimagesearch.export.source import load_source
    from pyimagesearch.inference.runtimes import load_predictor

    source = load_source(found[0][1])
    runtimes = {"original": (source.model, source.spec)}
    for label, path in found[1:]:
        model, _, spec = load_predictor(path)
        runtimes[label] = (model, spec)
    return source, runtimes


def benchmark_images(dataset, count):
    from pyimagesearch.datasets import list_images
    from pyimagesearch.export.splits import sample

    return sample(list_images(dataset, seed=42)[0], count)


def prepared_batches(spec, paths, batch_size):
    from pyimagesearch.inference.inputs import load_batches

    return [b for _, b, _ in load_batches(spec, paths, batch_size) if b is not None]


def onnx_settings(onnx_path, other_exports=()):
    """The .onnx export opened as predict.py opens it, beside the settings it
    was measured against (spinning worker threads, onnxruntime's default;
    one thread) and `other_exports` of the same model (e.g. written by an
    earlier version of export.py), opened the same way."""
    import onnxruntime

    from pyimagesearch.inference.onnx_backend import OnnxModel

    default = OnnxModel(onnx_path)
    runtimes = {f"onnx as predict.py opens it ({default.session.get_session_options().intra_op_num_threads} "
                "threads, no spinning)": default}
    for label, threads, spinning in (("onnx, threads spinning", default.session.get_session_options()
                                      .intra_op_num_threads, "1"), ("onnx, --threads 1", 1, "0")):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
        runtimes[label] = OnnxSession(session)
    for path in other_exports:
        runtimes[f"{path}, opened the same way"] = OnnxModel(path)
    return runtimes


class OnnxSession:
    def __init__(self, session):
        self.session, self.input_name = session, session.get_inputs()[0].name

    def predict_on_batch(self, batch):
        return self.session.run(None, {self.input_name: batch})[0]


def bench_throughput(models, batches, batch_size, repeats, what="Throughput"):
    """Alternate `models` ({label: model with predict_on_batch}, the first
    one the baseline) over the same prepared batches."""
    n = sum(len(b) for b in batches)
    speeds = {label: [] for label in models}
    for _ in range(repeats):
        for label, model in models.items():
            model.predict_on_batch(batches[0])  # warm-up (graph tracing, allocation)
            start = time.perf_counter()
            for batch in batches:
                model.predict_on_batch(batch)
            speeds[label].append(n / (time.perf_counter() - start))
    print(f"\n## {what} on {n} images (batches of {batch_size}, model time only, "
          f"{repeats} alternating rounds, load average {os.getloadavg()[0]:.1f} at the end)\n")
    print("| model | images/s median | best | vs original |\n| --- | --- | --- | --- |")
    base = statistics.median(next(iter(speeds.values())))
    for label, values in speeds.items():
        median = statistics.median(values)
        print(f"| {label} | {median:.0f} | {max(values):.0f} | {median / base:.2f}x |")


def bench_agreement(source, runtimes, found):
    from pyimagesearch.export.splits import run_split
    from pyimagesearch.export.verify import accuracy, compare, predict_kept

    split = run_split(source.info, source.class_names)
    if split is None:
        print("\n(the run's test split is not at hand: agreement skipped)")
        return
    kept, reference = source.predict(split.test_paths)
    labels = [label for path, label in zip(split.test_paths, split.test_labels) if path in set(kept)]
    sizes = {label: os.path.getsize(path) if os.path.isfile(path) else None for label, path in found}
    print(f"\n## Agreement on the run's test split ({len(kept)} images)\n")
    print("| model | top-1 same as original | test accuracy | largest prob. difference | file MiB | "
          "size vs float |\n| --- | --- | --- | --- | --- | --- |")
    for label, (model, spec) in runtimes.items():
        probs = reference if label == "original" else predict_kept(model, spec, kept)
        check = compare(reference, probs)
        float_label = label.replace(" int8", "")
        ratio = (f"{sizes[float_label] / sizes[label]:.1f}x smaller" if "int8" in label and sizes.get(float_label)
                 else "")
        size = f"{sizes[label] / 2**20:.2f}" if sizes.get(label) else "-"
        print(f"| {label} | {check['top1_agreement']:.2%} | {accuracy(probs, labels):.4f} | "
              f"{check['max_abs_diff']:.2g} | {size} | {ratio} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=".keras or .skops model, exported beside it")
    parser.add_argument("--image", default="../shared/data/images/cat.jpg")
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds of the model-time-only tables (default: --repeats // 2 + 1)")
    parser.add_argument("--folder-repeats", type=int, default=3,
                        help="fresh-process runs on the folder of --images images; 0 skips them")
    parser.add_argument("--also-onnx", nargs="+", default=[], metavar="ONNX",
                        help="other .onnx exports of the same model (e.g. from an earlier export.py) to "
                             "alternate with this one in the onnxruntime settings table")
    args = parser.parse_args()
    if min(args.images, args.batch_size, args.repeats, args.rounds or 1) < 1 or args.folder_repeats < 0:
        parser.error("--images, --batch-size, --repeats and --rounds must be at least 1, --folder-repeats at "
                     "least 0")
    if not os.path.isfile(args.model):
        parser.error(f"{args.model}: model file not found")
    if not os.path.isdir(args.dataset):
        parser.error(f"{args.dataset}: dataset folder not found")
    for path in args.also_onnx:
        if not os.path.isfile(path):
            parser.error(f"{path}: --also-onnx file not found")
    found = variants(args.model)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print("command: python -m benchmarks.bench_export " + " ".join(sys.argv[1:]))
    print("models: " + ", ".join(f"{label} {path}" for label, path in found))
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    bench_fresh(found, args.image, args.repeats)
    paths = benchmark_images(args.dataset, args.images)
    if args.folder_repeats:
        bench_folder(found, paths, args.folder_repeats)
    source, runtimes = open_runtimes(found)
    batches = prepared_batches(runtimes["original"][1], paths, args.batch_size)
    rounds = args.rounds or args.repeats // 2 + 1
    bench_throughput({label: model for label, (model, _) in runtimes.items()}, batches, args.batch_size, rounds)
    if "onnx" in runtimes:
        settings = onnx_settings(dict(found)["onnx"], args.also_onnx)
        bench_throughput({"original": runtimes["original"][0], **settings}, batches, args.batch_size, rounds,
                         "onnxruntime settings")
    bench_agreement(source, runtimes, found)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
