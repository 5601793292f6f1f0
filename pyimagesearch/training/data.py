"""The tf.data pipelines that feed a model from a split's parts (held in
memory or streamed from disk: see training.sources): shuffle row numbers,
read each batch of rows as uint8, then augment, mix and convert it to
float32 model input off the training thread, prefetching while one trains."""

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ..preprocessing.inputspec import InputSpec
from ..preprocessing.modelinput import to_model_input
from .sources import ArrayImages, Part, Split, load_run_split, load_split  # noqa: F401 (their old home)


@dataclass
class BatchOptions:
    """What happens to each batch on its way to the model (see
    part_dataset): `augmentation` (a Keras layer), `one_hot` (the number of
    classes), `mixup` or `cutmix` (alpha), `class_weights` (one per class),
    `mirror` (flip every image: the second view of test-time mirroring)."""
    augmentation: object = None
    one_hot: int = None
    mixup: float = 0.0
    cutmix: float = 0.0
    class_weights: object = None
    mirror: bool = False


def make_dataset(images, labels, batch_size, input_spec, shuffle=False, seed=None, **batch_options):
    """part_dataset over uint8 arrays held in memory (`images`, `labels`);
    `batch_options` are BatchOptions' fields (augmentation, one_hot, mixup,
    cutmix, class_weights), the keywords this function always took."""
    part = Part(ArrayImages(images), np.arange(len(images)), np.asarray(labels), [])
    return part_dataset(part, batch_size, input_spec, shuffle, seed, BatchOptions(**batch_options))


@dataclass
class Shard:
    """Worker `index` of `count`'s share of a part: of the first `usable`
    rows of each epoch's order (whole global batches, so every worker runs
    the same number of steps), every count-th. `log` (a RowLog) hears of
    every batch of rows read."""
    index: int
    count: int
    usable: int
    log: object = None


def part_dataset(part, batch_size, input_spec, shuffle=False, seed=None, options=None, shard=None):
    """A tf.data pipeline over one Part of a split: shuffle the row numbers
    (each epoch a new permutation), batch them, read each batch's rows as
    uint8 (from memory or disk), then (in parallel, off the training thread)
    augment and convert it to float32 model input, prefetching the next
    batch while one trains. Only row numbers are shuffled and only the
    batches in flight are decoded, so no copy of the images is made, in
    memory or streamed. `shard` (a Shard) keeps one worker's share of the
    rows, chosen before any image is read: every worker shuffles alike (the
    same seed) and reads only its own rows.

    `options` (BatchOptions): `one_hot` (the number of classes) turns the
    integer labels into one-hot rows, which label smoothing, `mixup` and
    `cutmix` need. `mixup` (alpha) blends each image and its label with
    another of the batch (Zhang et al. 2018); `cutmix` (alpha, at most 1)
    pastes a rectangle of another image instead, its label weighted by the
    rectangle's area (Yun et al. 2019). Either way the weight is drawn from
    Beta(alpha, alpha). `class_weights` (one per class) adds each image's
    weight as a third element, computed after mixing: a blend of two images
    weighs the blend of their classes' weights. Not Keras' class_weight,
    which would take a mixed label's largest class and is not applied to
    distributed input. `mirror` flips every image."""
    options = options or BatchOptions()
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(part.rows, np.int64),
                                             np.asarray(part.labels, np.int64)))
    if shuffle:
        # Row numbers only: the buffer holds 16 bytes per image, not images.
        ds = ds.shuffle(len(part), seed=seed, reshuffle_each_iteration=True)
    if shard is not None:
        ds = ds.take(shard.usable).shard(shard.count, shard.index)
    ds = ds.batch(batch_size)
    # Reading keeps the batches' order (deterministic), so a run is the same
    # streamed or in memory; two reads run at once, overlapping the disk.
    ds = ds.map(_row_reader(part, options.mirror, shard.log if shard is not None else None),
                num_parallel_calls=2)
    ds = ds.map(_batch_preparer(input_spec, options, seed),
                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    # Without a `shard`, under MultiWorkerMirroredStrategy every worker runs
    # this same (same-seed) pipeline and keeps its own share of each global
    # batch. Ignored on a single worker.
    pipeline_options = tf.data.Options()
    pipeline_options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA if shard is None else
        tf.data.experimental.AutoShardPolicy.OFF)
    return ds.with_options(pipeline_options)


def _row_reader(part, mirror, log):
    """The tf.data step that reads a batch of row numbers as uint8 images."""
    image_shape = tuple(part.images.image_shape)

    def read_rows(rows):
        if log is not None:
            log.add(rows)
        images = part.images.read(rows)
        return images[:, :, ::-1] if mirror else images

    # Its `if`s test Python values, not tensors, so AutoGraph has nothing to
    # convert; converted, it also leaves a generated file in the temp folder
    # whenever the process exits without running atexit (an interrupted run).
    @tf.autograph.experimental.do_not_convert
    def read(rows, y):
        x = tf.numpy_function(read_rows, [rows], tf.uint8, stateful=False)
        return tf.ensure_shape(x, (None,) + image_shape), y

    return read


def _mixer(options, seed):
    """The Keras layer that mixes a batch (MixUp or CutMix), or None."""
    if options.mixup and options.cutmix:
        raise ValueError("choose mixup or cutmix, not both")
    if options.mixup:
        return keras.layers.MixUp(alpha=options.mixup, seed=seed)
    if options.cutmix:
        # CutMix draws its alpha from U(factor); a range of one value makes
        # it Beta(cutmix, cutmix), the paper's (and MixUp's) meaning.
        return keras.layers.CutMix(factor=(options.cutmix, options.cutmix), seed=seed)
    return None


def _batch_preparer(input_spec, options, seed):
    """The tf.data step that turns a uint8 batch into model input: augment,
    scale, one-hot, mix, weigh (see part_dataset)."""
    input_spec = InputSpec.from_dict(input_spec)
    mix = _mixer(options, seed)
    weights = None if options.class_weights is None else tf.constant(options.class_weights, tf.float32)
    augmentation, one_hot = options.augmentation, options.one_hot

    @tf.autograph.experimental.do_not_convert
    def prepare(x, y):
        x = tf.cast(x, tf.float32)
        if augmentation is not None:
            x = augmentation(x, training=True)
        x = to_model_input(x, scale=input_spec.scale, flatten=input_spec.flatten, mean=input_spec.mean)
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

    return prepare


def predict_local(model, *datasets):
    """Class probabilities for every batch of each dataset, in order (one
    array per dataset), computed in this process alone: no cross-worker
    collective ops (model.predict would run them under a multi-worker
    strategy), so any worker can call it. One traced function, not eager
    calls, which peaked at about twice the memory on fine_tune.py's test
    images (BENCHMARKS.md, "Fine-tuning")."""
    # autograph=False: a lambda has nothing to convert, and a converted one
    # leaves a generated file in the temp folder when a run is interrupted.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True, autograph=False)
    return [np.concatenate([np.asarray(forward(x)) for x, _ in ds]) for ds in datasets]


def predict_test(model, images, labels, input_spec, batch_size, mirror_average=False):
    """Class probabilities for uint8 `images` held in memory; see predict_part."""
    part = Part(ArrayImages(images), np.arange(len(images)), np.asarray(labels), [])
    return predict_part(model, part, input_spec, batch_size, mirror_average)


def predict_part(model, part, input_spec, batch_size, mirror_average=False):
    """Class probabilities for the images of a Part (read a batch at a
    time); with `mirror_average`, each image's averaged with its mirror
    image's: the model was trained on both, so two views cut the variance
    for free."""
    views = [part_dataset(part, batch_size, input_spec)]
    if mirror_average:
        views.append(part_dataset(part, batch_size, input_spec, options=BatchOptions(mirror=True)))
    return np.mean(predict_local(model, *views), axis=0)


def mean_input_spec(size, means):
    """The book's AlexNet input: a `size` x `size` image (a crop of the
    stored one) minus the training set's channel `means` ({"R", "G", "B"})
    in the stored BGR order, unscaled."""
    return input_spec_for(size, size, resize="simple",
                          mean=[means["B"], means["G"], means["R"]]).replace(scale=1.0, crop=size)


def input_spec_for(width, height, depth=3, flatten=False, resize="simple", mean=None):
    return InputSpec(width, height, depth, flatten, resize, mean=mean)
