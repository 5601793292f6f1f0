"""Train a Keras classifier on a folder dataset held in memory as uint8, then
evaluate it on the held-out test split and write every output of the run.

The scripts (train_simple_nn.py, train_vgg.py) only choose the model, the
input size and the optimizer; everything they have in common lives here.
"""

import os
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from .callbacks import TrainingMonitor
from .datasets import CHANNEL_ORDER, SimpleDatasetLoader
from .datasets.folder import check_classes, encode_labels, report_skipped
from .datasets.split import split_size
from .preprocessing import RESIZERS
from .preprocessing.modelinput import to_model_input
from .utils.atomic import atomic_path, ensure_writable_folder, write_json
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
    for name in sorted(set(listed_labels) - set(labels)):
        print(f"warning: class {name!r} has no readable images and is left out", file=sys.stderr)
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


def load_from_args(args, paths, labels):
    """The common start of the folder trainers, from their parsed flags:
    output paths normalised and checked, then the dataset loaded and split."""
    outputs = OutputPaths.from_args(args.model, args.label_bin, args.plot)
    outputs.check_writable()
    split = load_split(args.dataset, paths, labels, args.size, args.size, resize=args.resize,
                       label_from=args.labels, seed=args.seed, test_size=args.test_size,
                       val_size=args.val_size, workers=args.workers)
    return outputs, split


def make_dataset(images, labels, batch_size, input_spec, shuffle=False, seed=None,
                 augmentation=None):
    """A tf.data pipeline over uint8 arrays: shuffle, batch, then (in
    parallel, off the training thread) augment and convert each batch to
    float32 model input, prefetching the next batch while one trains."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def prepare(x, y):
        x = tf.cast(x, tf.float32)
        if augmentation is not None:
            x = augmentation(x, training=True)
        x = to_model_input(x, scale=input_spec["scale"], flatten=input_spec["flatten"],
                           mean=input_spec.get("mean"))
        return x, y

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


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

    def print_written(self, confusion=True):
        """List every output of the run (the confusion matrix only if made)."""
        print("[INFO] wrote:")
        rows = [("model", self.model), ("sidecar", self.sidecar), ("labels", self.labels),
                ("plot", self.plot), ("history CSV", self.history_csv),
                ("history JSON", self.history_json)]
        for label, path in rows + ([("confusion matrix", self.confusion)] if confusion else []):
            print(f"  {label:17s}{path}")

    def check_writable(self):
        for path in (self.model, self.labels, self.plot):
            ensure_writable_folder(os.path.dirname(os.path.abspath(path)), "--model/--label-bin/--plot")


def fit_and_evaluate(model, split, optimizer, input_spec, outputs, epochs=75, batch_size=32,
                     patience=10, augmentation=None, seed=42, architecture=None, run_args=None,
                     mirror_average=False):
    """Compile, train with EarlyStopping on validation loss, evaluate on the
    test split and write the model, sidecar, labels, plots and logs.

    Returns the dict saved as the sidecar's "run" section.
    """
    n_train = len(split.x_train)
    if batch_size > n_train:
        raise UserError(f"--batch-size {batch_size} is larger than the {n_train} training "
                        "images; pass a smaller --batch-size")
    outputs.check_writable()
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    train_ds = make_dataset(split.x_train, split.y_train, batch_size, input_spec, shuffle=True,
                            seed=seed, augmentation=augmentation)
    has_val = len(split.x_val) > 0
    val_ds = make_dataset(split.x_val, split.y_val, batch_size, input_spec) if has_val else None
    monitor = TrainingMonitor(outputs.plot, json_path=outputs.history_json)
    callbacks = [monitor]
    early = None
    if patience and patience > 0 and has_val:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                              restore_best_weights=True, verbose=1)
        callbacks.append(early)

    print(f"[INFO] training {architecture or model.name} on {n_train} images "
          f"(validating on {len(split.x_val)}, testing on {len(split.x_test)}) "
          f"for up to {epochs} epochs, batch size {batch_size}")
    with atomic_path(outputs.history_csv) as csv_tmp:
        callbacks.append(keras.callbacks.CSVLogger(csv_tmp))
        start = time.perf_counter()
        interrupted = False
        try:
            # shuffle=False: the tf.data pipeline already reshuffles every epoch.
            model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks,
                      shuffle=False, verbose=2)
        except KeyboardInterrupt:
            # Ctrl-C (or SIGTERM, see run_cli) ends training, not the run:
            # the completed epochs are evaluated and saved like a full run.
            if not monitor.history.get("loss"):
                raise
            interrupted = True
            print("\n[NOTE] interrupted: evaluating and saving the best completed epoch",
                  file=sys.stderr)
            if early is not None and early.best_weights is not None:
                model.set_weights(early.best_weights)
        train_seconds = time.perf_counter() - start
    history = monitor.history
    epochs_run = len(history["loss"])
    best_epoch = (int(np.argmin(history["val_loss"])) + 1) if has_val else epochs_run
    stopped = bool(early is not None and early.stopped_epoch > 0)
    print(f"[INFO] trained {epochs_run} epochs in {train_seconds:.0f}s; "
          + (f"EarlyStopping stopped at epoch {epochs_run}, " if stopped else "")
          + f"best epoch {best_epoch}" + (" (weights restored)" if early is not None else ""))

    print("[INFO] evaluating on the test split...")
    test_ds = make_dataset(split.x_test, split.y_test, max(batch_size, 128), input_spec)
    probs = model.predict(test_ds, verbose=0)
    if mirror_average:
        # Average each test image's prediction with its mirror image's: the
        # model was trained on both, so two views cut the variance for free.
        mirrored = make_dataset(split.x_test[:, :, ::-1], split.y_test, max(batch_size, 128),
                                input_spec)
        probs = (probs + model.predict(mirrored, verbose=0)) / 2
        print("[INFO] test predictions average each image and its mirror image")
    y_pred = probs.argmax(axis=1)
    report_text, report, accuracy = evaluate_predictions(split.y_test, y_pred, split.class_names)
    print(report_text)
    print(f"[INFO] test accuracy: {accuracy:.4f}")

    run = {
        "architecture": architecture or model.name,
        "arguments": run_args or {},
        "seed": seed,
        "epochs_requested": epochs,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "early_stopped": stopped,
        "interrupted": interrupted,
        "train_images": n_train,
        "val_images": len(split.x_val),
        "test_images": len(split.x_test),
        "train_seconds": round(train_seconds, 1),
        "test_accuracy": accuracy,
        "test_mirror_average": mirror_average,
        "classification_report": report,
        **run_stamp(tensorflow=tf.__version__, keras=keras.__version__),
    }
    save_confusion_matrix(outputs.confusion, split.y_test, y_pred, split.class_names,
                          title=f"{architecture or model.name}: test accuracy {accuracy:.3f}")
    replaced = [p for p in (outputs.model, outputs.sidecar) if os.path.exists(p)]
    with atomic_path(outputs.model) as tmp:
        model.save(tmp)
    write_json(outputs.labels, split.class_names)
    save_model_info(outputs.model, split.class_names, input_spec, run)
    if replaced:
        print(f"[NOTE] replaced the previous {', '.join(replaced)}")
    outputs.print_written()
    return run
