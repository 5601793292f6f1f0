"""Train a Keras classifier on a folder dataset held in memory as uint8, then
evaluate it on the held-out test split and write every output of the run.

The scripts (train_simple_nn.py, train_vgg.py) only choose the model, the
input size and the optimizer; everything they have in common lives here.
"""

import contextlib
import os
import shutil
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from .callbacks import TrainingMonitor
from .callbacks.interrupt import interrupt_between_batches
from .datasets import CHANNEL_ORDER, SimpleDatasetLoader
from .datasets.folder import check_classes, encode_labels, report_skipped, warn_left_out
from .datasets.split import split_size
from .distribute import Distribution
from .preprocessing import RESIZERS
from .preprocessing.modelinput import to_model_input
from .resume import ResumeState
from .utils.atomic import atomic_path, ensure_writable_folder, remove_leftover_temporaries, write_json
from .utils.errors import UserError
from .utils.modelinfo import run_stamp, save_model_info
from .utils.reports import evaluate_predictions, save_confusion_matrix


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
    index = np.arange(len(data))
    try:
        train_idx, test_idx = train_test_split(index, test_size=test_size, random_state=seed)
        val_idx = np.array([], dtype=int)
        if val_size:
            try:
                train_idx, val_idx = train_test_split(train_idx, test_size=val_size,
                                                      random_state=seed, stratify=y[train_idx])
            except ValueError:
                # Too few images for one of each class in validation: a
                # plain random split still gives EarlyStopping a signal.
                train_idx, val_idx = train_test_split(train_idx, test_size=val_size,
                                                      random_state=seed)
    except ValueError as exc:
        raise UserError(f"cannot split {len(data)} images with --test-size {test_size} and "
                        f"--val-size {val_size}: {exc}") from None
    kept_paths = loader.paths
    return Split(data[train_idx], y[train_idx], data[val_idx], y[val_idx], data[test_idx],
                 y[test_idx], class_names, *([kept_paths[i] for i in idx]
                                             for idx in (train_idx, val_idx, test_idx)))


def load_from_args(args, paths, labels, chief=True):
    """The common start of the folder trainers, from their parsed flags:
    output paths normalised and checked (by the chief: the other workers of
    a multi-worker run never touch them), then the dataset loaded and split."""
    outputs = OutputPaths.from_args(args.model, args.label_bin, args.plot)
    if chief:
        outputs.check_writable()
    split = load_split(args.dataset, paths, labels, args.size, args.size, resize=args.resize,
                       label_from=args.labels, seed=args.seed, test_size=args.test_size,
                       val_size=args.val_size, workers=args.workers)
    return outputs, split


def make_dataset(images, labels, batch_size, input_spec, shuffle=False, seed=None,
                 augmentation=None, one_hot=None, mixup=0.0, cutmix=0.0):
    """A tf.data pipeline over uint8 arrays: shuffle, batch, then (in
    parallel, off the training thread) augment and convert each batch to
    float32 model input, prefetching the next batch while one trains.
    `one_hot` (the number of classes) turns the integer labels into one-hot
    rows, which label smoothing, `mixup` and `cutmix` need. `mixup` (alpha)
    blends each image and its label with another of the batch (Zhang et al.
    2018); `cutmix` (alpha, at most 1) pastes a rectangle of another image
    instead, its label weighted by the rectangle's area (Yun et al. 2019).
    Either way the weight is drawn from Beta(alpha, alpha)."""
    if mixup and cutmix:
        raise ValueError("choose mixup or cutmix, not both")
    mix = None
    if mixup:
        mix = keras.layers.MixUp(alpha=mixup, seed=seed)
    elif cutmix:
        # CutMix draws its alpha from U(factor); a range of one value makes
        # it Beta(cutmix, cutmix), the paper's (and MixUp's) meaning.
        mix = keras.layers.CutMix(factor=(cutmix, cutmix), seed=seed)
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
        return x, y

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    # In-memory arrays have no files to share out: under MultiWorkerMirroredStrategy
    # every worker runs this same (same-seed) pipeline and keeps its own share of
    # each global batch. Ignored on a single worker.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def predict_local(model, ds):
    """Class probabilities for every batch of `ds`, in order, computed in this
    process alone: no cross-worker collective ops, so any worker can call it."""
    return np.concatenate([np.asarray(model(x, training=False)) for x, _ in ds])


def predict_test(model, images, labels, input_spec, batch_size, mirror_average=False):
    """Class probabilities for `images`; with `mirror_average`, each image's
    averaged with its mirror image's: the model was trained on both, so two
    views cut the variance for free."""
    probs = predict_local(model, make_dataset(images, labels, batch_size, input_spec))
    if mirror_average:
        mirrored = make_dataset(images[:, :, ::-1], labels, batch_size, input_spec)
        probs = (probs + predict_local(model, mirrored)) / 2
    return probs


def input_spec_for(width, height, depth=3, flatten=False, resize="simple", mean=None):
    return {"width": width, "height": height, "depth": depth, "flatten": flatten,
            "resize": resize, "channel_order": CHANNEL_ORDER, "scale": 1 / 255.0, "mean": mean}


@dataclass
class OutputPaths:
    model: str
    labels: str
    plot: str

    @property
    def stem(self):
        return os.path.splitext(self.model)[0]

    @property
    def sidecar(self):
        return self.stem + ".json"

    @property
    def history_csv(self):
        return self.stem + "_history.csv"

    @property
    def history_json(self):
        return self.stem + "_history.json"

    @property
    def confusion(self):
        return self.stem + "_confusion.png"

    @classmethod
    def from_args(cls, model, labels=None, plot=None):
        """Normalise legacy names: the tutorial's `.model` / `.h5` models are
        saved as `.keras` (the only format Keras 3 saves whole models in) and
        pickle label files as `.json`, each with a note."""
        stem, ext = os.path.splitext(model)
        if ext != ".keras":
            print(f"[NOTE] Keras 3 saves models as .keras: writing {stem}.keras instead of {model}")
            model = stem + ".keras"
        labels = labels or stem + "_labels.json"
        lstem, lext = os.path.splitext(labels)
        if lext != ".json":
            print(f"[NOTE] labels are saved as JSON, never pickle: writing {lstem}.json "
                  f"instead of {labels}")
            labels = lstem + ".json"
        return cls(model, labels, plot or stem + "_plot.png")

    def moved_to(self, folder):
        """The same file names in another folder (a non-chief worker's scratch space)."""
        folder = os.fspath(folder)
        if os.path.abspath(folder) == os.path.dirname(os.path.abspath(self.model)):
            return self
        return OutputPaths(*(os.path.join(folder, os.path.basename(p))
                             for p in (self.model, self.labels, self.plot)))

    def files(self):
        """Every output of a run, as (what it is, path)."""
        return [("model", self.model), ("sidecar", self.sidecar), ("labels", self.labels),
                ("plot", self.plot), ("history CSV", self.history_csv),
                ("history JSON", self.history_json), ("confusion matrix", self.confusion)]

    def print_written(self, confusion=True):
        """List every output of the run (the confusion matrix only if made)."""
        print("[INFO] wrote:")
        for label, path in self.files():
            if confusion or path != self.confusion:
                print(f"  {label:17s}{path}")

    def check_writable(self):
        for path in (self.model, self.labels, self.plot):
            ensure_writable_folder(os.path.dirname(os.path.abspath(path)), "--model/--label-bin/--plot")

    def remove_leftovers(self):
        """Delete the temporary files of these outputs that a killed run left."""
        for _, path in self.files():
            for leftover in remove_leftover_temporaries(path):
                print(f"[NOTE] removed {leftover}, left by a run that was killed")


@contextlib.contextmanager
def start_run(model, optimizer, outputs, dist, seed, resume, run_args,
              loss="sparse_categorical_crossentropy"):
    """What every trainer does before model.fit: check the outputs can be
    written (chief), seed Keras, compile inside the strategy's scope, and
    find where an interrupted run left off. Yields (ResumeState, epoch,
    written): `written` are the paths this worker writes to, `outputs`
    itself on the chief and a temporary folder, deleted at the end, on the
    other workers. A fresh run stopped before its first epoch completes
    removes its `<model>_backup/`: there is nothing to resume."""
    if dist.chief:
        outputs.check_writable()
        outputs.remove_leftovers()
    keras.utils.set_random_seed(seed)
    with dist.scope():
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    state = ResumeState(outputs.model)
    start_epoch = state.prepare(resume, chief=dist.chief, arguments=run_args)
    with dist.output_folder(os.path.dirname(os.path.abspath(outputs.model))) as folder:
        try:
            yield state, start_epoch, outputs.moved_to(folder)
        except BaseException:
            if dist.chief and not start_epoch and not state.epoch:
                shutil.rmtree(state.folder, ignore_errors=True)
            raise


def fit_and_evaluate(model, split, optimizer, input_spec, outputs, epochs=75, batch_size=32,
                     patience=10, augmentation=None, seed=42, architecture=None, run_args=None,
                     mirror_average=False, dist=None, resume=False, label_smoothing=0.0,
                     mixup=0.0, cutmix=0.0):
    """Compile, train with EarlyStopping on validation loss, evaluate on the
    test split and write the model, sidecar, labels, plots and logs.

    `label_smoothing` trains towards 1 - s for the true class and s / C for
    every class instead of one-hot targets (Szegedy et al. 2016), which
    discourages over-confident predictions on small datasets. `mixup`
    (alpha, 0 for off) trains on blends of two images and their labels;
    `cutmix` (alpha) on images with a rectangle pasted from another.

    `dist` is the Distribution the model and optimizer were built under
    (default: one device); `batch_size` is per replica. Only the chief writes
    to `outputs`. `resume` continues from `<model>_backup/`, which exists
    while a run is unfinished. Returns the dict saved as the sidecar's "run"
    section.
    """
    dist = dist or Distribution.one_device()
    n_train = len(split.x_train)
    batch_size = dist.batch_for(batch_size, n_train)
    name = architecture or model.name
    # Keras' sparse cross-entropy has no label smoothing, and mixed labels
    # are not class numbers: all three train on one-hot rows.
    one_hot = len(split.class_names) if label_smoothing or mixup or cutmix else None
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
            if one_hot else "sparse_categorical_crossentropy")
    with start_run(model, optimizer, outputs, dist, seed, resume, run_args, loss) as (
            state, start_epoch, written):
        dist.announce(batch_size)
        print(f"[INFO] training {name} on {n_train} images (validating on {len(split.x_val)}, "
              f"testing on {len(split.x_test)}) for up to {epochs} epochs"
              + (f", resuming after epoch {start_epoch}" if start_epoch else ""))
        trained = _train(model, split, input_spec, written, state, start_epoch, epochs, dist,
                         batch_size, patience, augmentation, seed, one_hot, mixup, cutmix)
        run = {
            "architecture": name,
            "arguments": run_args or {},
            "seed": seed,
            "distribution": dist.describe(batch_size),
            "epochs_requested": epochs,
            **trained,
            "train_images": n_train,
            "val_images": len(split.x_val),
            "test_images": len(split.x_test),
        }
        return _evaluate_and_save(model, split, input_spec, outputs, written, run,
                                  dist.global_batch(batch_size), mirror_average, dist.chief)


def _train(model, split, input_spec, written, state, start_epoch, epochs, dist, batch_size, patience,
           augmentation, seed, one_hot=None, mixup=0.0, cutmix=0.0):
    """model.fit with the run's callbacks; Ctrl-C ends training, not the run.
    Returns the training facts for the sidecar."""
    global_batch = dist.global_batch(batch_size)
    train_ds = make_dataset(split.x_train, split.y_train, global_batch, input_spec, shuffle=True,
                            seed=seed, augmentation=augmentation, one_hot=one_hot, mixup=mixup,
                            cutmix=cutmix)
    has_val = len(split.x_val) > 0
    # Keras averages the first batch over the replicas to learn its shape, so
    # that batch must split evenly: a multiple of the replicas.
    val_batch = min(global_batch, len(split.x_val) // dist.replicas * dist.replicas)
    if has_val and not val_batch:
        raise UserError(f"{len(split.x_val)} validation images cannot be shared by {dist.replicas} "
                        "replicas; pass a larger --val-size")
    val_ds = make_dataset(split.x_val, split.y_val, val_batch, input_spec,
                          one_hot=one_hot) if has_val else None
    monitor = TrainingMonitor(written.plot, json_path=written.history_json, start_at=start_epoch,
                              csv_path=written.history_csv)
    callbacks = [monitor]
    early = None
    if patience and patience > 0 and has_val:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                              restore_best_weights=True, verbose=1)
        callbacks.append(early)
    elif not has_val:
        print("[NOTE] no validation split (--val-size 0): EarlyStopping is off and the last "
              "epoch's weights are kept")
    # Last, so an epoch counts as done for --resume only once all its outputs are written.
    callbacks.append(state.callback(os.path.splitext(written.model)[0] + "_backup", start_epoch))
    start = time.perf_counter()
    interrupted = False
    try:
        with interrupt_between_batches() as stop:
            # shuffle=False: the tf.data pipeline already reshuffles every epoch.
            model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                      callbacks=[stop, *callbacks], shuffle=False, verbose=2)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM ends training, not the run: the completed
        # epochs are evaluated and saved like a full run, and
        # <model>_backup/ stays for --resume. The signal is acted on
        # between batches, so every epoch's outputs are whole.
        if len(monitor.history.get("loss", [])) <= start_epoch:
            raise
        interrupted = True
        print("\n[NOTE] interrupted: evaluating and saving the best completed epoch; "
              f"--resume continues from epoch {state.epoch}", file=sys.stderr)
        if early is not None and early.best_weights is not None:
            model.set_weights(early.best_weights)
    train_seconds = time.perf_counter() - start
    history = monitor.history
    epochs_run = len(history["loss"])
    # With EarlyStopping the weights kept are the best of this process's epochs
    # (a resumed run does not see the earlier ones' weights).
    first = start_epoch if early is not None else 0
    best_epoch = first + int(np.argmin(history["val_loss"][first:])) + 1 if has_val else epochs_run
    stopped = bool(early is not None and early.stopped_epoch > 0)
    print(f"[INFO] trained {epochs_run} epochs in {train_seconds:.0f}s; "
          + (f"EarlyStopping stopped at epoch {epochs_run}, " if stopped else "")
          + (f"best epoch {best_epoch}" if has_val else "kept the last epoch")
          + (" (weights restored)" if early is not None else ""))
    images = len(split.x_train) * (epochs_run - start_epoch)
    return {"epochs_run": epochs_run, "best_epoch": best_epoch, "early_stopped": stopped,
            "interrupted": interrupted, "resumed_from_epoch": start_epoch or None,
            "train_seconds": round(train_seconds, 1),
            "images_per_second": round(images / train_seconds, 1) if train_seconds else None}


def _evaluate_and_save(model, split, input_spec, outputs, written, run, global_batch,
                       mirror_average, chief):
    print("[INFO] evaluating on the test split...")
    batch = max(global_batch, 128)
    probs = predict_test(model, split.x_test, split.y_test, input_spec, batch, mirror_average)
    if mirror_average:
        print("[INFO] test predictions average each image and its mirror image")
    y_pred = probs.argmax(axis=1)
    report_text, report, accuracy = evaluate_predictions(split.y_test, y_pred, split.class_names)
    print(report_text)
    print(f"[INFO] test accuracy: {accuracy:.4f}")
    run.update({
        "test_accuracy": accuracy,
        "test_mirror_average": mirror_average,
        "classification_report": report,
        **run_stamp(tensorflow=tf.__version__, keras=keras.__version__),
    })
    name = run["architecture"]
    save_confusion_matrix(written.confusion, split.y_test, y_pred, split.class_names,
                          title=f"{name}: test accuracy {accuracy:.3f}")
    replaced = [p for p in (written.model, written.sidecar) if os.path.exists(p)]
    # Every worker saves (saving may join collective ops); only the chief's
    # `written` is the real output folder.
    with atomic_path(written.model) as tmp:
        model.save(tmp)
    write_json(written.labels, split.class_names)
    save_model_info(written.model, split.class_names, input_spec, run)
    if chief:
        if replaced:
            print(f"[NOTE] replaced the previous {', '.join(replaced)}")
        outputs.print_written()
    return run
