"""The in-memory data of a folder trainer: the dataset loaded as uint8 and
split into train/val/test, and the tf.data pipelines that turn batches of
it into model input (augmented, mixed) on the way to the model."""

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ..datasets import CHANNEL_ORDER, SimpleDatasetLoader
from ..datasets.folder import check_classes, encode_labels, find_dataset, report_skipped, warn_left_out
from ..datasets.split import split_size, tutorial_split
from ..preprocessing import RESIZERS
from ..preprocessing.modelinput import to_model_input
from ..utils.errors import UserError


@dataclass
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    train_paths: list
    val_paths: list
    test_paths: list


def load_split(dataset, paths, listed_labels, width, height, resize="simple",
               label_from="folder", seed=42, test_size=0.25, val_size=0.1, workers=None):
    """Load the images `find_dataset(dataset)` listed, as uint8, and split
    them into train/val/test.

    The test split reproduces the tutorial exactly: paths sorted, shuffled
    with `seed`, then `train_test_split(test_size, random_state=seed)` without
    stratification (it depends only on the number of images). Validation
    images, used for EarlyStopping, come out of the training part only, so
    the test split never influences training.
    """
    test_size = split_size(test_size, "test-size")
    val_size = split_size(val_size, "val-size")
    loader = SimpleDatasetLoader([RESIZERS[resize](width, height)], label_from=label_from,
                                 workers=workers)
    start = time.perf_counter()
    data, labels = loader.load(paths, verbose=1, labels=listed_labels)
    seconds = time.perf_counter() - start
    report_skipped(loader.skipped, len(paths))
    warn_left_out(listed_labels, labels)
    if len(data) == 0:
        raise UserError(f"{dataset}: none of the {len(paths)} image files could be read", 1)
    class_names = check_classes(dataset, labels, label_from)
    print(f"[INFO] loaded {len(data)} images of {len(class_names)} classes in {seconds:.1f}s "
          f"({len(data) / seconds:.0f} images/s); data {data.shape} {data.dtype}, "
          f"{data.nbytes / 2**20:.1f} MiB")
    y, class_names = encode_labels(labels, class_names)
    train_idx, val_idx, test_idx = tutorial_split(len(data), y, test_size, val_size, seed)
    kept_paths = loader.paths
    return Split(data[train_idx], y[train_idx], data[val_idx], y[val_idx], data[test_idx],
                 y[test_idx], class_names, *([kept_paths[i] for i in idx]
                                             for idx in (train_idx, val_idx, test_idx)))


def load_run_split(info, dataset=None):
    """The split the run of sidecar `info` trained and tested on, decoded
    again from `dataset` (default: the run's own --dataset): the same seed,
    sizes and input spec pick the same images for each part, since the
    tutorial's split depends only on the sorted, shuffled paths."""
    args, spec = info["run"]["arguments"], info["input"]
    dataset = dataset or args["dataset"]
    label_from, seed = args.get("labels", "folder"), args.get("seed", 42)
    paths, labels = find_dataset(dataset, label_from=label_from, seed=seed, exclude=args.get("exclude"))
    return load_split(dataset, paths, labels, spec["width"], spec["height"],
                      resize=spec.get("resize", "simple"), label_from=label_from, seed=seed,
                      test_size=args.get("test_size", 0.25), val_size=args.get("val_size", 0.1))

def make_dataset(images, labels, batch_size, input_spec, shuffle=False, seed=None,
                 augmentation=None, one_hot=None, mixup=0.0, cutmix=0.0, class_weights=None):
    """A tf.data pipeline over uint8 arrays: shuffle, batch, then (in
    parallel, off the training thread) augment and convert each batch to
    float32 model input, prefetching the next batch while one trains.
    `one_hot` (the number of classes) turns the integer labels into one-hot
    rows, which label smoothing, `mixup` and `cutmix` need. `mixup` (alpha)
    blends each image and its label with another of the batch (Zhang et al.
    2018); `cutmix` (alpha, at most 1) pastes a rectangle of another image
    instead, its label weighted by the rectangle's area (Yun et al. 2019).
    Either way the weight is drawn from Beta(alpha, alpha).

    `class_weights` (one per class) adds each image's weight as a third
    element, computed after mixing: a blend of two images weighs the blend
    of their classes' weights. Not Keras' class_weight, which would take a
    mixed label's largest class and is not applied to distributed input."""
    if mixup and cutmix:
        raise ValueError("choose mixup or cutmix, not both")
    mix = None
    if mixup:
        mix = keras.layers.MixUp(alpha=mixup, seed=seed)
    elif cutmix:
        # CutMix draws its alpha from U(factor); a range of one value makes
        # it Beta(cutmix, cutmix), the paper's (and MixUp's) meaning.
        mix = keras.layers.CutMix(factor=(cutmix, cutmix), seed=seed)
    weights = None if class_weights is None else tf.constant(class_weights, tf.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    # Its `if`s test Python values, not tensors, so AutoGraph has nothing to
    # convert; converted, it also leaves a generated file in the temp folder
    # whenever the process exits without running atexit (an interrupted run).
    @tf.autograph.experimental.do_not_convert
    def prepare(x, y):
        x = tf.cast(x, tf.float32)
        if augmentation is not None:
            x = augmentation(x, training=True)
        x = to_model_input(x, scale=input_spec["scale"], flatten=input_spec["flatten"],
                           mean=input_spec.get("mean"))
        if one_hot:
            y = tf.one_hot(y, one_hot)
        if mix is not None:
            mixed = mix({"images": x, "labels": y}, training=True)
            x, y = mixed["images"], mixed["labels"]
        if weights is None:
            return x, y
        if one_hot:
            return x, y, tf.linalg.matvec(y, weights)
        return x, y, tf.gather(weights, y)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    # In-memory arrays have no files to share out: under MultiWorkerMirroredStrategy
    # every worker runs this same (same-seed) pipeline and keeps its own share of
    # each global batch. Ignored on a single worker.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def predict_local(model, *datasets):
    """Class probabilities for every batch of each dataset, in order (one
    array per dataset), computed in this process alone: no cross-worker
    collective ops (model.predict would run them under a multi-worker
    strategy), so any worker can call it. One traced function, not eager
    calls: on fine_tune.py's 750 test images at 224 px, eager calls peaked
    at 3.7 GB against 1.7 GB (BENCHMARKS.md, "Fine-tuning")."""
    # autograph=False: a lambda has nothing to convert, and a converted one
    # leaves a generated file in the temp folder when a run is interrupted.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True, autograph=False)
    return [np.concatenate([np.asarray(forward(x)) for x, _ in ds]) for ds in datasets]


def predict_test(model, images, labels, input_spec, batch_size, mirror_average=False):
    """Class probabilities for `images`; with `mirror_average`, each image's
    averaged with its mirror image's: the model was trained on both, so two
    views cut the variance for free."""
    views = [make_dataset(images, labels, batch_size, input_spec)]
    if mirror_average:
        views.append(make_dataset(images[:, :, ::-1], labels, batch_size, input_spec))
    return np.mean(predict_local(model, *views), axis=0)


def input_spec_for(width, height, depth=3, flatten=False, resize="simple", mean=None):
    return {"width": width, "height": height, "depth": depth, "flatten": flatten,
            "resize": resize, "channel_order": CHANNEL_ORDER, "scale": 1 / 255.0, "mean": mean}
