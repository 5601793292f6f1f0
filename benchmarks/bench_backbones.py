"""Every fine_tune.py backbone side by side, to choose one from one table:
parameters, FLOPs per image, fine-tuning images/s, the ONNX and LiteRT
exports' one-image latency in a fresh process, and the file sizes, float
and int8. Each backbone (random weights: speed and size do not depend on
them) gets a 3-class head as fine_tune.py builds it, then:

1. FLOPs of one image at --size, counted by TensorFlow's profiler on the
   graph export.py converts (a multiply-add counts 2).
2. Fine-tuning images/s: train_on_batch on --batch-size images, the whole
   backbone unfrozen as in phase 2 (AdamW), after one warm-up step; model
   time only (no decoding or augmentation).
3. ONNX and LiteRT exports through export.py's own code (verified against
   the Keras model on --images real images), then int8 of each (calibrated
   on the same images) with its top-1 agreement, or the converter's error.
4. predict.py on one image in a fresh process per float export, the two
   formats alternating, --repeats times: median wall time.

Ratios are against the first backbone measured (mobilenet by default), in
the same run. Each backbone's row is appended to --results as it finishes,
so a long run can be split (--backbones) and printed together (--table-only).
--counts-only measures parameters and FLOPs alone (step 1).

    python benchmarks/bench_backbones.py --results backbones.jsonl
"""
import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_export import benchmark_images, fresh_process

from pyimagesearch.transfer.backbones import BACKBONES

# mobilenet first: the ratios' baseline, and fine_tune.py's default.
ORDER = ["mobilenet", *[name for name in BACKBONES if name != "mobilenet"]]


def flops_per_image(model, size):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    function = tf.function(lambda x: model(x, training=False))
    frozen = convert_variables_to_constants_v2(
        function.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)))
    options = tf.compat.v1.profiler.ProfileOptionBuilder(
        tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    return tf.compat.v1.profiler.profile(graph=frozen.graph, cmd="op", options=options).total_float_ops


def fine_tuning_rate(model, size, batch_size, steps):
    import keras
    import numpy as np

    from pyimagesearch.transfer.finetune import set_unfrozen

    set_unfrozen(model, "all")
    model.compile(keras.optimizers.AdamW(1e-4), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch_size, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 3, batch_size)
    model.train_on_batch(x, y)  # tracing and allocation
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - start)


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


def measure(name, args, images, work):
    import keras

    from pyimagesearch.export.exportmodel import export_model
    from pyimagesearch.export.rewrite import exportable_model
    from pyimagesearch.export.source import load_source
    from pyimagesearch.modelfiles.sidecar import save_model_info
    from pyimagesearch.transfer.finetune import build_model, input_spec

    keras.utils.clear_session()
    keras.utils.set_random_seed(0)
    model = build_model(name, None, args.size, classes=3)
    row = {"backbone": name, "size": args.size, "params": model.count_params(),
           "flops": flops_per_image(exportable_model(model), args.size)}
    if args.counts_only:
        return row
    row["train_images_per_s"] = fine_tuning_rate(model, args.size, args.batch_size, args.train_steps)
    path = os.path.join(work, f"{name}.keras")
    model.save(path)
    save_model_info(path, ["cats", "dogs", "panda"], input_spec(args.size, name), {"arguments": {}})
    source = load_source(path)
    options = SimpleNamespace(formats=["onnx", "litert"], int8=False, images=images,
                              verify_images=len(images), calibrate=None, calibration_images=len(images))
    for export_path, info in export_model(source, options):
        fmt = info["export"]["format"]
        row[fmt] = {"bytes": os.path.getsize(export_path),
                    "agreement": info["export"]["verification"]["top1_agreement"],
                    "int8": int8_export(source, fmt, export_path, images)}
    walls = {"onnx": [], "litert": []}
    for _ in range(args.repeats):
        for fmt, suffix in (("onnx", ".onnx"), ("litert", ".tflite")):
            walls[fmt].append(fresh_process(os.path.join(work, name + suffix), args.image)[0])
    for fmt, values in walls.items():
        row[fmt]["fresh_s"] = statistics.median(values)
    row["load"] = os.getloadavg()[0]
    return row


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


def print_table(rows):
    if "onnx" not in rows[0]:
        print_counts(rows)
        return
    base = rows[0]
    print(f"\n| backbone | parameters | GFLOPs per image | fine-tuning images/s | vs {base['backbone']} | "
          "ONNX one image, fresh process s | LiteRT s | ONNX MiB | int8 ONNX MiB | LiteRT MiB | "
          "int8 LiteRT MiB | load after |\n" + "| --- " * 12 + "|")
    for row in rows:
        onnx, litert = row["onnx"], row["litert"]
        print(f"| {row['backbone']} | {row['params'] / 1e6:.1f} M | {row['flops'] / 1e9:.2f} | "
              f"{row['train_images_per_s']:.1f} | "
              f"{row['train_images_per_s'] / base['train_images_per_s']:.2f}x | "
              f"{onnx['fresh_s']:.2f} | {litert['fresh_s']:.2f} | {mib(onnx['bytes'])} | {int8_cell(onnx)} | "
              f"{mib(litert['bytes'])} | {int8_cell(litert)} | {row['load']:.1f} |")
    failures = [(row["backbone"], fmt, row[fmt]["int8"]["error"]) for row in rows for fmt in ("onnx", "litert")
                if "error" in row[fmt]["int8"]]
    for backbone, fmt, error in failures:
        print(f"\n- int8 {fmt} of {backbone}: {error}")
    print(f"\nfloat exports' top-1 agreement with Keras: "
          f"{min(min(row['onnx']['agreement'], row['litert']['agreement']) for row in rows):.0%} at worst; "
          f"load average {min(row['load'] for row in rows):.1f} to {max(row['load'] for row in rows):.1f} "
          "after each backbone")


def read_rows(path):
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        rows = {row["backbone"]: row for row in map(json.loads, f)}
    return [rows[name] for name in ORDER if name in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", choices=ORDER, default=ORDER)
    parser.add_argument("--results", required=True, help="JSON lines file the rows are appended to")
    parser.add_argument("--table-only", action="store_true", help="print the table of --results and stop")
    parser.add_argument("--counts-only", action="store_true",
                        help="parameters and FLOPs only (minutes for all backbones, not hours)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--images", type=int, default=16, help="verification and calibration images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dataset", default="../shared/data/animals")
    parser.add_argument("--image", default="../shared/data/images/cat.jpg")
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    print("command: python benchmarks/bench_backbones.py " + " ".join(sys.argv[1:]))
    if not args.table_only:
        print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
        images = benchmark_images(args.dataset, args.images)
        for name in args.backbones:
            with tempfile.TemporaryDirectory() as work:
                row = measure(name, args, images, work)
            with open(args.results, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(f"[INFO] {name}: {json.dumps(row)}", flush=True)
    rows = [row for row in read_rows(args.results) if ("onnx" in row) != args.counts_only]
    if rows:
        print_table(rows)


if __name__ == "__main__":
    main()
