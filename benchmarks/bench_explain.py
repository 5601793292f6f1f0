"""What explaining costs, on Animals, measured in one process as paired
ratios (rounds alternate, median and best reported):

1. The end of a train_vgg.py run: the evaluation it always did (test
   predictions, classification report, confusion matrix, model and sidecar
   saved) against what explaining adds (most-confused pairs, bootstrap
   interval, 16 top-loss Grad-CAM heatmaps, the gallery PNG and the HTML
   report). Target: at most 15 s added.
2. predict.py on 100 Animals images with annotated copies, plain against
   --explain (Grad-CAM overlays from the same batched pass). Target: at most 3x.

Needs a SmallVGGNet trained by train_vgg.py on the same dataset (its sidecar
gives the split). Run from the repository root:

    python train_vgg.py --dataset ../shared/data/animals --epochs 5 --model /tmp/e/smallvggnet.keras
    python -m benchmarks.bench_explain --dataset ../shared/data/animals --model /tmp/e/smallvggnet.keras
"""
import argparse
import contextlib
import json
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def paired(name_a, a, name_b, b, rounds):
    """Alternate a and b `rounds` times; print median and best of each and the ratio b / a."""
    times = {name_a: [], name_b: []}
    for _ in range(rounds):
        times[name_a].append(timed(a))
        times[name_b].append(timed(b))
    for name, values in times.items():
        print(f"  {name:44s} median {statistics.median(values):6.2f} s   best {min(values):6.2f} s")
    ratios = [y / x for x, y in zip(times[name_a], times[name_b])]
    print(f"  ratio {name_b} / {name_a}: median {statistics.median(ratios):.2f}x, best {min(ratios):.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True, help="a SmallVGGNet .keras from train_vgg.py")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from pyimagesearch.evaluation.confusion import mistakes
    from pyimagesearch.evaluation.reports import evaluate_predictions, save_confusion_matrix
    from pyimagesearch.explain.explainers import keras_explainer
    from pyimagesearch.explain.overlays import explain_paths
    from pyimagesearch.explain.summary import EvaluatedImages, explain_run
    from pyimagesearch.inference.inputs import predict_paths
    from pyimagesearch.inference.outputs import write_predictions
    from pyimagesearch.inference.runtimes import load_predictor
    from pyimagesearch.modelfiles.paths import OutputPaths
    from pyimagesearch.modelfiles.sidecar import save_model_info
    from pyimagesearch.training.data import load_run_split, predict_test

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}), "
          f"load average {os.getloadavg()[0]:.1f}; TensorFlow {tf.__version__}, Keras {keras.__version__}")
    with open(os.path.splitext(args.model)[0] + ".json") as f:
        sidecar = json.load(f)
    split = load_run_split(sidecar, args.dataset)
    model, class_names, spec = load_predictor(args.model)
    work = tempfile.mkdtemp(prefix="bench_explain_")
    outputs = OutputPaths.from_args(os.path.join(work, "vgg.keras"))
    run = dict(sidecar["run"])
    state = {}

    def evaluation():  # what _evaluate_and_save always did
        probs = predict_test(model, split.x_test, split.y_test, spec, 128)
        y_pred = probs.argmax(axis=1)
        evaluate_predictions(split.y_test, y_pred, class_names)
        save_confusion_matrix(outputs.confusion, split.y_test, y_pred, class_names)
        model.save(outputs.model)
        save_model_info(outputs.model, class_names, spec, run)
        state.update(probs=probs, y_pred=y_pred)

    def explanation():  # what it adds now
        run.update(mistakes(split.y_test, state["y_pred"], class_names))
        evaluated = EvaluatedImages(split.y_test, state["probs"], class_names, images=split.x_test,
                                    paths=split.test_paths)
        explain_run(model, evaluated, spec, outputs, run, 16)

    print(f"\n1. end of a train_vgg.py run, {len(split.y_test)} test images, {args.rounds} rounds")
    evaluation()  # warm-up: the first predict traces the model
    paired("evaluation (before)", evaluation, "explanation added", explanation, args.rounds)

    images = split.test_paths[:args.images]
    print(f"\n2. predict.py on {len(images)} Animals images, annotated copies written, {args.rounds} rounds")

    def plain():
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # the per-image lines
            write_predictions(predict_paths(model, spec, images, batch_size=64), class_names,
                              output=os.path.join(work, "plain"))

    def explained():
        explainer = keras_explainer(model, spec, args.model)
        out = os.path.join(work, "explained")
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            write_predictions(explain_paths(explainer, spec, images, out, class_names, batch_size=64),
                              class_names, output=out)

    os.makedirs(os.path.join(work, "plain"))
    os.makedirs(os.path.join(work, "explained"))
    plain()  # warm-up
    paired("predict", plain, "predict --explain", explained, args.rounds)

if __name__ == "__main__":
    main()
