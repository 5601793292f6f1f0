"""Training speed on this CPU against its measured peak: float32 against
mixed_bfloat16, and the other levers (batch size, input pipeline, XLA,
TensorFlow threads, oneDNN options), each as paired, alternating epochs.

The machine's peak is measured first: the best of a few 4096x4096 matmuls
in float32 and in bfloat16. Then the real Animals images are loaded with the
project's loader (uint8, the tutorial's training split) and fed through the
trainers' pipeline (shuffle, the tutorial's augmentation, float conversion).
Within one process, every variant of a lever trains one epoch in turn, so
machine noise (a shared VM) hits them alike; the first epoch of each
(tracing, warm-up) is left out. Reported: images/s per epoch (raw), median
and best, the ratio to the lever's baseline, and the share of the measured
peak reached, from the FLOPs of one trained image (conv and dense layers
counted, forward x3 for forward + backward).

    python -m benchmarks.bench_precision --dataset ../shared/data/animals

Levers that TensorFlow reads once per process (threads, TF_ONEDNN_* / TF_*
environment variables) are measured by alternating short child processes,
`--rounds` each, which the per-epoch figures then pool:

    python -m benchmarks.bench_precision --levers threads onednn --epochs 3 --rounds 3
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# In-process levers: variants are (label, options) over the baseline options.
IN_PROCESS = {
    "precision": [("float32", {}), ("mixed_bfloat16", {"precision": "mixed_bfloat16"})],
    "batch": [("batch 32", {}), ("batch 64", {"batch_size": 64}), ("batch 128", {"batch_size": 128}),
              ("batch 64 bf16", {"batch_size": 64, "precision": "mixed_bfloat16"})],
    "pipeline": [("live augmentation", {}), ("cached pre-augmented", {"cached": True}),
                 ("live, bf16", {"precision": "mixed_bfloat16"}),
                 ("cached, bf16", {"cached": True, "precision": "mixed_bfloat16"})],
    "xla": [("no XLA", {}), ("jit_compile", {"jit_compile": True})],
}
# Child-process levers: variants are (label, environment, options).
CHILD_PROCESS = {
    "threads": [("default threads", {}, {}),
                ("intra 2, inter 1", {}, {"intra": 2, "inter": 1}),
                ("intra 1, inter 1", {}, {"intra": 1, "inter": 1})],
    "onednn": [("oneDNN default", {}, {}),
               ("TF_ENABLE_ONEDNN_OPTS=0", {"TF_ENABLE_ONEDNN_OPTS": "0"}, {}),
               ("TF_SET_ONEDNN_FPMATH_MODE=BF16", {"TF_SET_ONEDNN_FPMATH_MODE": "BF16"}, {}),
               ("mixed_bfloat16", {}, {"precision": "mixed_bfloat16"}),
               ("mixed_bfloat16 + FPMATH BF16", {"TF_SET_ONEDNN_FPMATH_MODE": "BF16"},
                {"precision": "mixed_bfloat16"})],
}
SIZES = {"smallvggnet": 64, "alexnet": 227, "mobilenet": 224, "mlp": 32}


def matmul_peak(dtype, n=4096, repeats=5):
    """Best GFLOP/s of an n x n matmul in `dtype` (2 n^3 FLOPs each)."""
    import tensorflow as tf

    a = tf.random.normal((n, n), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)

    @tf.function
    def product():
        return tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32))

    product().numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def forward_flops(model):
    """Multiply-adds x 2 of the conv and dense layers for one image (the
    others, BatchNorm, ReLU, pooling, are a few percent and memory-bound)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a fine-tuned backbone
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * c_out
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * layer.input.shape[-1] * c_out
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return total


def load_images(dataset, size, limit):
    """The tutorial's training split (seed 42, 25% test held out) as uint8."""
    from pyimagesearch.datasets.folder import find_dataset
    from pyimagesearch.training.data import load_split

    paths, labels = find_dataset(dataset, seed=42)
    split = load_split(dataset, paths, labels, size, size, val_size=0)
    n = min(limit or len(split.train), len(split.train))
    return split.train.read(range(n)), split.y_train[:n], len(split.class_names)


def build(architecture, classes, options, fc_units):
    """A compiled model under the variant's precision policy, made as the
    trainers make it (training.precision)."""
    import keras

    from pyimagesearch.nn import MLP
    from pyimagesearch.nn.conv import AlexNet, SmallVGGNet
    from pyimagesearch.training.precision import with_policy

    if architecture == "alexnet":
        model = AlexNet.build(227, 227, 3, classes, fc_units=fc_units)
    elif architecture == "mobilenet":
        # fine_tune.py's model in its second phase: MobileNet 0.25 and the
        # default head, the whole backbone trainable (random weights: the
        # speed is the same as ImageNet's).
        from pyimagesearch.transfer.finetune import build_model, set_unfrozen

        model = build_model("mobilenet", None, 224, 0.25, classes)
        set_unfrozen(model, "all")
    elif architecture == "mlp":
        model = MLP.build(input_dim=32 * 32 * 3, classes=classes)
    else:
        model = SmallVGGNet.build(64, 64, 3, classes)
    model = with_policy(model, options.get("precision", "float32"))
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy",
                  jit_compile=options.get("jit_compile", False))
    return model


def dataset_for(architecture, images, labels, options, seed):
    """The trainer's pipeline: the MLP's flattened and not augmented, as in train_simple_nn.py."""
    from pyimagesearch.preprocessing.augmentation import image_augmentation
    from pyimagesearch.training.data import input_spec_for, make_dataset

    mlp = architecture == "mlp"
    spec = input_spec_for(images.shape[2], images.shape[1], flatten=mlp)
    ds = make_dataset(images, labels, options.get("batch_size", 32), spec, shuffle=True, seed=seed,
                      augmentation=None if mlp else image_augmentation(seed=seed))
    # Cached: the first epoch's augmented float batches are replayed, so the
    # epochs after it cost the model alone (how much the pipeline takes).
    return ds.cache() if options.get("cached") else ds


def alternate(architecture, variants, images, labels, classes, epochs, fc_units, seed=42):
    """Per-epoch images/s of each variant, epochs alternating between them;
    the first (warm-up) epoch of each is dropped."""
    import keras

    runs = []
    for label, options in variants:
        keras.utils.set_random_seed(seed)
        runs.append((label, build(architecture, classes, options, fc_units),
                     dataset_for(architecture, images, labels, options, seed), []))
    for epoch in range(epochs + 1):
        for label, model, ds, speeds in runs:
            start = time.perf_counter()
            model.fit(ds, epochs=1, verbose=0, shuffle=False)
            speed = len(images) / (time.perf_counter() - start)
            if epoch:
                speeds.append(speed)
            print(f"  epoch {epoch} {label}: {rate(speed)} images/s"
                  + ("" if epoch else " (warm-up, dropped)"), flush=True)
    flops = forward_flops(runs[0][1])
    return {label: speeds for label, _, _, speeds in runs}, flops


def rate(images_per_s):
    """3 significant digits, without the exponent that .3g gives from 1,000 on."""
    return f"{images_per_s:.0f}" if images_per_s >= 100 else f"{images_per_s:.3g}"


def report(title, speeds, flops, peaks, bf16_labels):
    """Markdown table: raw epochs, median, best, ratios to the first variant, and the
    share of the peak of the variant's matmul precision (bfloat16 for `bf16_labels`)."""
    base_label = next(iter(speeds))
    base_median = statistics.median(speeds[base_label])
    base_best = max(speeds[base_label])
    train_gflop = 3 * flops / 1e9
    measured = (f"peaks measured: float32 {peaks['float32']:.0f}, bfloat16 {peaks['bfloat16']:.0f} GFLOP/s"
                if peaks["float32"] else "peaks not measured (--skip-peak)")
    print(f"\n### {title}\n\nFLOPs per trained image: {train_gflop:.2f} GFLOP (forward {flops / 1e9:.3f} "
          f"x3); {measured}\n")
    print("| variant | images/s median | best | median ratio | best ratio | % of own peak (median / best) "
          "| per-epoch images/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, values in speeds.items():
        median, best = statistics.median(values), max(values)
        peak = peaks["bfloat16" if label in bf16_labels else "float32"]
        share = (f"{100 * median * train_gflop / peak:.0f}% / {100 * best * train_gflop / peak:.0f}%"
                 if peak else "n/a")
        print(f"| {label} | {rate(median)} | {rate(best)} | {median / base_median:.2f}x | "
              f"{best / base_best:.2f}x | {share} | {', '.join(rate(v) for v in values)} |")
    sys.stdout.flush()


def child(args):
    """One child process of a child-process lever: print its speeds as JSON."""
    options = json.loads(args.child)
    import tensorflow as tf

    if "intra" in options:
        tf.config.threading.set_intra_op_parallelism_threads(options["intra"])
        tf.config.threading.set_inter_op_parallelism_threads(options["inter"])
    images, labels, classes = load_images(args.dataset, SIZES[args.model], args.images)
    speeds, flops = alternate(args.model, [("child", options)], images, labels, classes, args.epochs,
                              args.fc_units)
    print("RESULT " + json.dumps({"speeds": speeds["child"], "flops": flops}), flush=True)


def child_lever(args, lever, architecture):
    speeds = {label: [] for label, _, _ in CHILD_PROCESS[lever]}
    flops = None
    for round_ in range(args.rounds):
        for label, env, options in CHILD_PROCESS[lever]:
            print(f"  round {round_ + 1}, {label}", flush=True)
            cmd = [sys.executable, os.path.abspath(__file__), "--dataset", args.dataset,
                   "--child", json.dumps(options), "--model", architecture, "--epochs", str(args.epochs),
                   "--images", str(args.images_for(architecture)), "--fc-units", str(args.fc_units)]
            out = subprocess.run(cmd, env=dict(os.environ, **env), check=True, stdout=subprocess.PIPE,
                                 text=True).stdout
            result = json.loads(out.rsplit("RESULT ", 1)[1])
            speeds[label] += result["speeds"]
            flops = result["flops"]
    return speeds, flops


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=os.path.join(ROOT, "..", "shared", "data", "animals"))
    parser.add_argument("--models", nargs="+", default=["smallvggnet", "alexnet"], choices=list(SIZES))
    parser.add_argument("--levers", nargs="+", default=["precision"],
                        choices=[*IN_PROCESS, *CHILD_PROCESS],
                        help="what to compare (default: precision); child-process levers cost an "
                             "import and a data load per round")
    parser.add_argument("--epochs", type=int, default=4,
                        help="timed epochs per variant, after one warm-up epoch (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="child processes per variant for threads/onednn (default: %(default)s)")
    parser.add_argument("--vgg-images", type=int, default=0,
                        help="training images for SmallVGGNet (default: all 2250)")
    parser.add_argument("--alexnet-images", type=int, default=320,
                        help="training images for AlexNet, which is ~10x slower (default: %(default)s)")
    parser.add_argument("--mobilenet-images", type=int, default=640,
                        help="training images for fine-tuning MobileNet 0.25 at 224 px (default: %(default)s)")
    parser.add_argument("--fc-units", type=int, default=1024,
                        help="AlexNet's FC width; the tutorial's is 4096 (default: %(default)s)")
    parser.add_argument("--skip-peak", action="store_true", help="do not measure the matmul peak")
    # Internal: one child process of a child-process lever.
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--images", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.images_for = lambda a: {"alexnet": args.alexnet_images,
                                 "mobilenet": args.mobilenet_images}.get(a, args.vgg_images)
    if args.child:
        return child(args)

    import tensorflow as tf

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs ({cpu_name()}), "
          f"TensorFlow {tf.__version__}, load average {os.getloadavg()[0]:.1f}")
    print("command: python -m benchmarks.bench_precision " + " ".join(sys.argv[1:]), flush=True)
    peaks = {"float32": 0.0, "bfloat16": 0.0}
    if not args.skip_peak:
        peaks = {"float32": matmul_peak(tf.float32), "bfloat16": matmul_peak(tf.bfloat16)}
        print(f"matmul 4096x4096 peak (best of 5): float32 {peaks['float32']:.0f} GFLOP/s, "
              f"bfloat16 {peaks['bfloat16']:.0f} GFLOP/s ({peaks['bfloat16'] / peaks['float32']:.2f}x)",
              flush=True)
    for architecture in args.models:
        data = None
        for lever in args.levers:
            title = f"{architecture} ({SIZES[architecture]} px), {lever}"
            print(f"\n## {title}", flush=True)
            if lever in CHILD_PROCESS:
                speeds, flops = child_lever(args, lever, architecture)
                bf16 = {label for label, env, options in CHILD_PROCESS[lever]
                        if "precision" in options or env.get("TF_SET_ONEDNN_FPMATH_MODE") == "BF16"}
            else:
                if data is None:
                    data = load_images(args.dataset, SIZES[architecture], args.images_for(architecture))
                speeds, flops = alternate(architecture, IN_PROCESS[lever], *data, args.epochs,
                                          args.fc_units)
                bf16 = {label for label, options in IN_PROCESS[lever] if "precision" in options}
            report(f"{title}: {args.epochs} timed epochs per variant"
                   + (f" x {args.rounds} processes" if lever in CHILD_PROCESS else ""),
                   speeds, flops, peaks, bf16)
    if not args.skip_peak:
        # On a shared machine the peak measured first may be a busy moment's.
        end = {"float32": matmul_peak(tf.float32), "bfloat16": matmul_peak(tf.bfloat16)}
        print(f"\nmatmul peak again at the end: float32 {end['float32']:.0f}, bfloat16 "
              f"{end['bfloat16']:.0f} GFLOP/s (the tables used the first measurement)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
