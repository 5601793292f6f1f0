"""Every fine_tune.py backbone side by side, to choose one from one table:
parameters, FLOPs per image, fine-tuning images/s, the ONNX and LiteRT
exports' one-image latency in a fresh process, and the file sizes, float
and int8. Each backbone (random weights: speed and size do not depend on
them) gets a 3-class head as fine_tune.py builds it.

Export phase, one backbone at a time, each in a fresh child process (one
process for all of them grew past 23 GB; ResNet152 alone needs 12 GB):

1. FLOPs of one image at --size, counted by TensorFlow's profiler on the
   graph export.py converts (a multiply-add counts 2).
2. ONNX and LiteRT exports through export.py's own code (verified against
   the Keras model on --images real images), then int8 of each (calibrated
   on the same images) with its top-1 agreement, or the converter's error.
   The float exports stay in --keep for the timing phase.

Timing phase, the backbones alternating, --rounds rounds (this machine is
shared and its speed drifts: measured one after another, a backbone's speed
was mostly the load of its minutes):

3. Fine-tuning images/s: every backbone's model is built once and warmed up
   (--warmup-steps) in worker processes that stay alive; then each round runs
   --train-steps train_on_batch steps of --batch-size images per backbone,
   the order rotated from round to round. The whole backbone is unfrozen as
   in phase 2 (AdamW); model time only (no decoding or augmentation).
4. Latency: each round runs predict.py on one image in a fresh process for
   every kept export (.onnx and .tflite), the order rotated likewise.

Per backbone the table gives the median and the best over the rounds, and
the median of its per-round ratios against mobilenet measured in the same
round (and the ratio of the bests), beside the load average during its
measurements. Rows are appended to --results as each phase finishes, so a
long run can be split (--backbones, --phases) and printed together
(--table-only). --counts-only measures parameters and FLOPs alone (step 1).

Run it from the repository's root as a module (or with PYTHONPATH=.):

    python -m benchmarks.bench_backbones --results backbones.jsonl --keep exports/
"""
import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace

from benchmarks.bench_export import ROOT, benchmark_images, fresh_process
from pyimagesearch.transfer.backbones import BACKBONES

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# mobilenet first: the ratios' baseline, and fine_tune.py's default.
ORDER = ["mobilenet", *[name for name in BACKBONES if name != "mobilenet"]]
BASELINE = ORDER[0]
FORMATS = (("onnx", ".onnx"), ("litert", ".tflite"))
# A training worker stops rather than building another model when less than
# this is left: the machine is shared, and the kernel's out-of-memory killer
# would pick some other developer's process as readily as this one.
MIN_AVAILABLE_BYTES = 3 * 2**30


def flops_per_image(model, size):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(
        function.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)))
    options = tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    return tf.compat.v1.profiler.profile(graph=frozen.graph, cmd="op", options=options).total_float_ops


def int8_export(source, fmt, float_path, images):
    """(int8 file size, top-1 agreement) of the int8 export, or the error."""
    from pyimagesearch.export.formats import open_export, target_path
    from pyimagesearch.export.quantize import quantize_litert, quantize_onnx
    from pyimagesearch.export.verify import compare, predict_kept

    path = target_path(source.path, fmt, int8=True)
    try:
        if fmt == "onnx":
            quantize_onnx(float_path, path, source.spec, images)
        else:
            quantize_litert(source.model, path, source.spec, images)
        kept, reference = source.predict(images)
        check = compare(reference, predict_kept(open_export(path, fmt), source.spec, kept))
    except Exception as exc:  # noqa: BLE001 - recorded: which backbones int8 cannot hold, and why
        return {"error": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"}
    return {"bytes": os.path.getsize(path), "agreement": check["top1_agreement"]}


def measure_exports(name, args, images):
    """The export phase's row of one backbone; its float exports (and their
    sidecars) are left in args.keep."""
    import keras

    from pyimagesearch.export.exportmodel import export_model
    from pyimagesearch.export.rewrite import exportable_model
    from pyimagesearch.export.source import load_source
    from pyimagesearch.modelfiles.sidecar import save_model_info
    from pyimagesearch.transfer.finetune import build_model, input_spec

    keras.utils.set_random_seed(0)
    model = build_model(name, None, args.size, classes=3)
    row = {"backbone": name, "size": args.size, "params": model.count_params(),
           "flops": flops_per_image(exportable_model(model), args.size)}
    if args.counts_only:
        return row
    path = os.path.join(args.keep, f"{name}.keras")
    model.save(path)
    save_model_info(path, ["cats", "dogs", "panda"], input_spec(args.size, name), {"arguments": {}})
    source = load_source(path)
    options = SimpleNamespace(formats=[fmt for fmt, _ in FORMATS], int8=False, images=images,
                              verify_images=len(images), calibrate=None, calibration_images=len(images))
    for export_path, info in export_model(source, options):
        fmt = info["export"]["format"]
        row[fmt] = {"bytes": os.path.getsize(export_path),
                    "agreement": info["export"]["verification"]["top1_agreement"],
                    "int8": int8_export(source, fmt, export_path, images)}
    os.remove(path)  # the timing phase builds its own models; the exports are what it needs from here
    row["load"] = os.getloadavg()[0]
    return row


def export_phase(args):
    images = benchmark_images(args.dataset, args.images)
    # A fresh process per backbone: converting leaves memory behind that one
    # process does not get back (after 14 backbones it was killed at 23.6 GB).
    with ProcessPoolExecutor(1, multiprocessing.get_context("spawn"), max_tasks_per_child=1) as pool:
        for name in args.backbones:
            row = pool.submit(measure_exports, name, args, images).result()
            append_row(args.results, row)
            print(f"[INFO] {name}: {json.dumps(row)}", flush=True)


def available_bytes():
    with open("/proc/meminfo", encoding="utf-8") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["MemAvailable"].split()[0]) * 1024


def peak_rss_bytes():
    with open("/proc/self/status", encoding="utf-8") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["VmHWM"].split()[0]) * 1024


def training_worker(names, settings, connection):
    """Build and warm up the models of `names`, then time `settings.steps`
    train_on_batch steps of whichever one the parent names, until None."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from pyimagesearch.transfer.finetune import build_model, set_unfrozen

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (settings.batch_size, settings.size, settings.size, 3)).astype(np.float32)
    y = rng.integers(0, 3, settings.batch_size)
    models = {}
    for name in names:
        if available_bytes() < MIN_AVAILABLE_BYTES:
            message = (f"only {available_bytes() / 2**30:.1f} GB of memory left before building {name}; "
                       "use more --train-processes or fewer --backbones")
            connection.send(("error", message))
            return
        keras.utils.set_random_seed(0)
        model = build_model(name, None, settings.size, classes=3)
        set_unfrozen(model, "all")
        model.compile(keras.optimizers.AdamW(1e-4), "sparse_categorical_crossentropy")
        for _ in range(settings.warmup_steps):  # tracing and allocation; the first timed step was still slow
            model.train_on_batch(x, y)
        models[name] = model
    connection.send(("ready", peak_rss_bytes()))
    while (name := connection.recv()) is not None:
        start = time.perf_counter()
        for _ in range(settings.steps):
            models[name].train_on_batch(x, y)
        connection.send(("seconds", time.perf_counter() - start))


def memory_groups(names, params, count):
    """`names` split into `count` groups of about equal parameters (the
    biggest first, each to the lightest group so far), so that no worker
    holds both ResNet152 and VGG19."""
    groups = [[] for _ in range(min(count, len(names)))]
    totals = [0] * len(groups)
    for name in sorted(names, key=lambda name: params.get(name, 0), reverse=True):
        lightest = totals.index(min(totals))
        groups[lightest].append(name)
        totals[lightest] += params.get(name, 0)
    return groups


def rotated(items, round_index, rounds):
    """`items` starting at a different place each round, so that no item is
    always measured first, or right after the same one."""
    start = round_index * len(items) // rounds
    return items[start:] + items[:start]


def receive(connection, process):
    try:
        return connection.recv()
    except EOFError:
        process.join()
        sys.exit(f"a training worker stopped (exit code {process.exitcode}; -9 is the out-of-memory killer): "
                 "use more --train-processes")


def start_workers(groups, settings):
    """One live worker process per group, started one after another (so that
    each sees the memory the ones before it took): [(names, process, pipe,
    peak bytes after building and warming up)]."""
    context = multiprocessing.get_context("spawn")
    workers = []
    for group in groups:
        ours, theirs = context.Pipe()
        process = context.Process(target=training_worker, args=(group, settings, theirs), daemon=True)
        process.start()
        kind, value = receive(ours, process)
        if kind == "error":
            sys.exit(value)
        print(f"[INFO] training worker for {', '.join(group)}: {value / 2**30:.1f} GB peak after warm-up, "
              f"{available_bytes() / 2**30:.1f} GB left", flush=True)
        workers.append((group, process, ours, value))
    return workers


def training_rounds(names, args, timings, loads):
    settings = SimpleNamespace(size=args.size, batch_size=args.batch_size, steps=args.train_steps,
                               warmup_steps=args.warmup_steps)
    params = {row["backbone"]: row.get("params", 0) for row in read_rows(args.results)}
    workers = start_workers(memory_groups(names, params, args.train_processes), settings)
    owner = {name: (process, connection) for group, process, connection, _ in workers for name in group}
    for round_index in range(args.rounds):
        for name in rotated(names, round_index, args.rounds):
            process, connection = owner[name]
            loads[name].append(os.getloadavg()[0])
            connection.send(name)
            timings[name]["train_s"].append(receive(connection, process)[1])
        print(f"[INFO] training round {round_index + 1} of {args.rounds} done, load {os.getloadavg()[0]:.1f}",
              flush=True)
    for _, process, connection, peak in workers:
        connection.send(None)
        process.join()
        for name in owner:
            if owner[name][0] is process:
                timings[name]["worker_peak_bytes"] = peak


def kept_exports(names, keep):
    """[(backbone, format, path)] of the float exports the latency rounds run."""
    exports = [(name, fmt, os.path.join(keep, name + suffix)) for name in names for fmt, suffix in FORMATS]
    missing = [path for _, _, path in exports if not os.path.isfile(path)]
    if missing:
        sys.exit(f"{missing[0]}: no such export; run the export phase of {len(missing)} backbones with "
                 f"--keep {keep} first")
    return exports


def latency_rounds(exports, args, timings, loads):
    image = os.path.abspath(args.image)
    for round_index in range(args.rounds):
        for name, fmt, path in rotated(exports, round_index, args.rounds):
            loads[name].append(os.getloadavg()[0])
            timings[name][f"{fmt}_s"].append(fresh_process(os.path.abspath(path), image)[0])
        print(f"[INFO] latency round {round_index + 1} of {args.rounds} done, load {os.getloadavg()[0]:.1f}",
              flush=True)


def timing_phase(args):
    # The baseline is measured in the same rounds as the rest, or the ratios
    # would compare different minutes of a machine whose speed drifts.
    names = list(dict.fromkeys([BASELINE, *args.backbones]))
    timings = {name: {"rounds": args.rounds, "batch_size": args.batch_size, "train_steps": args.train_steps,
                      "run": time.strftime("%Y-%m-%dT%H:%M:%S"), "train_s": [], "onnx_s": [], "litert_s": []}
               for name in names}
    loads = {name: [] for name in names}
    exports = kept_exports(names, args.keep)  # before the long training rounds, not after
    training_rounds(names, args, timings, loads)
    latency_rounds(exports, args, timings, loads)
    for name in names:
        row = {"backbone": name, "timing": dict(timings[name], loads=loads[name])}
        append_row(args.results, row)
        print(f"[INFO] {name}: {json.dumps(row)}", flush=True)


def append_row(path, row):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def read_rows(path):
    """One dict per backbone: its rows of every phase merged, later rows
    replacing what earlier ones measured."""
    if not os.path.isfile(path):
        return []
    rows = {}
    with open(path, encoding="utf-8") as f:
        for row in map(json.loads, f):
            rows.setdefault(row["backbone"], {}).update(row)
    return [rows[name] for name in ORDER if name in rows]


def mib(size):
    return f"{size / 2**20:.1f}"


def int8_cell(result):
    if "error" in result["int8"]:
        return "fails (see below)"
    return f"{mib(result['int8']['bytes'])} ({result['int8']['agreement']:.0%} agree)"


def print_counts(rows):
    print("\n| backbone | parameters | GFLOPs per image |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row['backbone']} | {row['params'] / 1e6:.1f} M | {row['flops'] / 1e9:.2f} |")


def per_round(timing, key):
    """The measure per round: images/s for fine-tuning, seconds for latency."""
    if key == "train_s":
        return [timing["train_steps"] * timing["batch_size"] / seconds for seconds in timing["train_s"]]
    return timing[key]


def speed_cells(row, base, key, best):
    """'median (best)' of the measure, and of its per-round ratios against
    the baseline's in the same round (the ratio of the bests in brackets)."""
    if "timing" not in row or "timing" not in base or row["timing"]["run"] != base["timing"]["run"]:
        return ["-", "-"]
    values, baseline = per_round(row["timing"], key), per_round(base["timing"], key)
    ratios = [value / reference for value, reference in zip(values, baseline, strict=True)]
    digits = 1 if key == "train_s" else 2
    return [f"{statistics.median(values):.{digits}f} ({best(values):.{digits}f})",
            f"{statistics.median(ratios):.2f}x ({best(values) / best(baseline):.2f}x)"]


def print_table(rows):
    if not any("onnx" in row for row in rows):
        print_counts(rows)
        return
    base = next((row for row in rows if row["backbone"] == BASELINE), rows[0])
    print(f"\n| backbone | parameters | GFLOPs per image | fine-tuning images/s, median (best) | "
          f"speed vs {base['backbone']}, median (best) | ONNX one image, fresh process s, median (best) | "
          f"time vs {base['backbone']} | LiteRT s, median (best) | time vs {base['backbone']} | ONNX MiB | "
          "int8 ONNX MiB | LiteRT MiB | int8 LiteRT MiB | load during rounds |\n" + "| --- " * 14 + "|")
    for row in rows:
        if "onnx" not in row:
            continue
        onnx, litert = row["onnx"], row["litert"]
        loads = row.get("timing", {}).get("loads")
        cells = [row["backbone"], f"{row['params'] / 1e6:.1f} M", f"{row['flops'] / 1e9:.2f}",
                 *speed_cells(row, base, "train_s", max), *speed_cells(row, base, "onnx_s", min),
                 *speed_cells(row, base, "litert_s", min), mib(onnx["bytes"]), int8_cell(onnx),
                 mib(litert["bytes"]), int8_cell(litert),
                 f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"]
        print("| " + " | ".join(cells) + " |")
    failures = [(row["backbone"], fmt, row[fmt]["int8"]["error"]) for row in rows if "onnx" in row
                for fmt in ("onnx", "litert") if "error" in row[fmt]["int8"]]
    for backbone, fmt, error in failures:
        print(f"\n- int8 {fmt} of {backbone}: {error}")
    exported = [row for row in rows if "onnx" in row]
    print(f"\nfloat exports' top-1 agreement with Keras: "
          f"{min(min(row['onnx']['agreement'], row['litert']['agreement']) for row in exported):.0%} at worst")
    timed = [row["timing"] for row in rows if "timing" in row]
    if timed:
        every_load = [load for timing in timed for load in timing["loads"]]
        print(f"timing: {max(t['rounds'] for t in timed)} rounds, the backbones alternating; "
              f"{timed[0]['train_steps']} step(s) of {timed[0]['batch_size']} images per backbone and round; "
              f"load average {min(every_load):.1f} to {max(every_load):.1f} during the rounds")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", choices=ORDER, default=ORDER)
    parser.add_argument("--results", required=True, help="JSON lines file the rows are appended to")
    parser.add_argument("--table-only", action="store_true", help="print the table of --results and stop")
    parser.add_argument("--counts-only", action="store_true",
                        help="parameters and FLOPs only (minutes for all backbones, not hours)")
    parser.add_argument("--phases", nargs="+", choices=["export", "timing"], default=["export", "timing"])
    parser.add_argument("--keep", help="folder for the float exports the timing phase runs (kept afterwards)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=3, help="timed steps per backbone and round")
    parser.add_argument("--warmup-steps", type=int, default=2, help="untimed steps per backbone, once")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds, the backbones alternating")
    parser.add_argument("--train-processes", type=int, default=2,
                        help="worker processes holding the models being timed (split for memory)")
    parser.add_argument("--images", type=int, default=16, help="verification and calibration images")
    parser.add_argument("--dataset", default=os.path.join(ROOT, "../shared/data/animals"))
    parser.add_argument("--image", default=os.path.join(ROOT, "../shared/data/images/cat.jpg"))
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print("command: python -m benchmarks.bench_backbones " + " ".join(sys.argv[1:]))
    if not args.table_only:
        print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
        with tempfile.TemporaryDirectory() as scratch:
            args.keep = args.keep or scratch  # without --keep: only one run of both phases can use them
            if args.counts_only or "export" in args.phases:
                os.makedirs(args.keep, exist_ok=True)
                export_phase(args)
            if not args.counts_only and "timing" in args.phases:
                timing_phase(args)
    rows = read_rows(args.results)
    if args.counts_only:
        print_counts(rows)
    elif rows:
        print_table(rows)


if __name__ == "__main__":
    main()
