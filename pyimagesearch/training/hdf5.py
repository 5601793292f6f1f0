"""Train a classifier from the HDF5 files of build_hdf5.py (train_alexnet.py):
the data stays on disk and is read a batch at a time, the best model is
saved as training goes, and an interrupted run can be resumed."""

import math
import os
import time

import keras
import tensorflow as tf

from ..callbacks import TrainingMonitor
from ..callbacks.bestmodel import BestModelCheckpoint
from ..callbacks.interrupt import interrupt_between_batches
from ..datasets.classweights import weights_for_run
from ..io.hdf5sequence import HDF5Sequence
from ..utils.atomic import atomic_path, write_json
from ..utils.errors import UserError
from ..utils.modelinfo import run_stamp, save_model_info
from . import precision
from .distribute import Distribution
from .resume import best_so_far
from .run import start_run


class RowLog(keras.callbacks.Callback):
    """Print which rows of the training file this worker read in each epoch:
    the evidence that the workers share the file out, each row once."""

    def __init__(self, name, worker, workers):
        super().__init__()
        self.name, self.worker, self.workers = name, worker, workers
        self.epoch = None  # None outside training (Keras reads a batch to build the model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_end(self, logs=None):
        self.epoch = None

    def report(self, epoch, row_ranges):
        if epoch is None:
            return
        total = sum(stop - start for start, stop in row_ranges)
        merged = []
        for start, stop in sorted(row_ranges):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        covered = sum(stop - start for start, stop in merged)
        print(f"[INFO] worker {self.worker} of {self.workers}, epoch {epoch + 1}: read {total} rows "
              f"of {self.name} ({'each once' if covered == total else 'some more than once'}): "
              + ", ".join(f"{start}-{stop - 1}" for start, stop in merged), flush=True)


def distributed_input(dist: Distribution, seq: HDF5Sequence, per_replica, parallel=2, row_log=None):
    """Feed `seq` (this worker's shard of an HDF5 file, batches of
    `per_replica` x local replicas) to model.fit under `dist`'s strategy.

    Each worker builds its own pipeline over its own rows and TensorFlow does
    no sharding of its own (distribute_datasets_from_function); each batch is
    split into one per-replica batch per local device. Keras would otherwise
    wrap the PyDataset in a generator dataset that tf.distribute can neither
    shard nor split. `parallel` batches are read and prepared at once."""
    # (x, y), or (x, y, sample weights) with class weights.
    specs = tuple(tf.TensorSpec((None,) + part.shape[1:], tf.as_dtype(part.dtype)) for part in seq[0])

    def batch_numbers():
        # Snapshot this pass's order: on_epoch_end reshuffles it while the
        # last batches may still be read.
        epoch, order = (row_log.epoch if row_log else None), [int(k) for k in seq.order]
        yield from order
        if row_log is not None:
            row_log.report(epoch, [seq.batch_rows(k) for k in order])
        seq.on_epoch_end()

    @tf.autograph.experimental.do_not_convert  # no control flow; see training.make_dataset
    def read(number):
        parts = tf.numpy_function(seq.read, [number], tuple(spec.dtype for spec in specs))
        return tuple(tf.ensure_shape(part, spec.shape) for part, spec in zip(parts, specs))

    def dataset_fn(context):
        ds = tf.data.Dataset.from_generator(batch_numbers,
                                            output_signature=tf.TensorSpec((), tf.int64))
        ds = ds.map(read, num_parallel_calls=parallel, deterministic=True)
        ds = ds.rebatch(per_replica)
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(seq) * dist.replicas_per_worker))
        return ds.prefetch(tf.data.AUTOTUNE)

    return dist.strategy.distribute_datasets_from_function(dataset_fn)


def hdf5_sequence(dist: Distribution, path, batch_size, **kwargs):
    """An HDF5Sequence of `path` for this process: with one replica, every
    batch (the last one may be partial); under a strategy, this worker's
    share of whole batches of `batch_size` (per replica) x its replicas."""
    if dist.replicas == 1:
        return HDF5Sequence(path, batch_size, **kwargs)
    seq = HDF5Sequence(path, batch_size * dist.replicas_per_worker,
                       shard=(dist.worker, dist.workers), **kwargs)
    if len(seq) == 0:
        raise UserError(f"{path}: {seq.source.num_images} images cannot fill one global batch of "
                        f"--batch-size {batch_size} x {dist.replicas} replicas; pass a smaller "
                        "--batch-size")
    return seq


def evaluate_best_model(outputs, train, val, input_spec, class_names, run, config):
    """Evaluate the saved best model on test.hdf5 beside the training file
    or, when build_hdf5.py made none, on the validation file (and say so)."""
    from ..explain.evaluation import evaluate_hdf5_run

    test_path = os.path.join(os.path.dirname(train.source.db.filename), "test.hdf5")
    if os.path.exists(test_path):
        db_path, split = test_path, "test"
    else:
        db_path, split = val.source.db.filename, "val"
        print(f"[NOTE] no {test_path}: evaluating on the validation file, which also chose the best "
              "epoch, so its accuracy is optimistic")
    model = keras.models.load_model(outputs.model, compile=False, safe_mode=True)
    return evaluate_hdf5_run(model, db_path, input_spec, class_names, outputs, run, config.top_losses, split)


def fit_from_hdf5(model, train: HDF5Sequence, val: HDF5Sequence, optimizer, outputs, input_spec,
                  class_names, config, dist=None, workers=2):
    """Compile and train with the callbacks of a long run; write the best
    model, sidecar, labels, plot and history. Returns the sidecar's run dict.

    `config` (a RunConfig) holds the run's options; its `batch_size` is per
    replica. `dist` (a Distribution; default: one device) is the strategy
    the model and optimizer were built under. Only the chief writes to
    `outputs`; other workers write into a temporary folder."""
    dist = dist or Distribution.one_device()
    batch_size = config.batch_size or train.source.batch_size
    epochs = config.epochs
    with start_run(model, optimizer, outputs, dist, config) as session:
        state, start_epoch, written = session.state, session.start_epoch, session.written
        model = session.model
        name = config.architecture or model.name
        distribution = dist.describe(batch_size)
        # From the whole training file, so every worker of a sharded run agrees.
        train.class_weights, weight_record = weights_for_run(config.class_weight, train.source.labels[:],
                                                             list(class_names))

        def run_info(extra):
            return {"architecture": name, "arguments": config.arguments, "seed": config.seed,
                    "class_weight": weight_record,
                    "precision": precision.training_policy(model),
                    "train_images": train.num_images * dist.workers,
                    "val_images": val.num_images * dist.workers, "distribution": distribution,
                    **run_stamp(tensorflow=tf.__version__, keras=keras.__version__), **extra}

        def save_sidecar(path, epoch, logs):
            save_model_info(path, class_names, input_spec,
                            run_info({"best_epoch": epoch, "finished": None,
                                      "val_loss": float(logs["val_loss"]),
                                      "val_accuracy": float(logs.get("val_accuracy", math.nan))}))

        # Every worker reads the best value so far from the chief's history, so
        # that all of them save (and join the same collective ops) together.
        checkpoint = BestModelCheckpoint(written.model, on_save=save_sidecar,
                                         best=best_so_far(outputs.history_json, start_epoch)
                                         if start_epoch else math.inf)
        monitor = TrainingMonitor(written.plot, json_path=written.history_json, start_at=start_epoch,
                                  title=f"{name}: loss and accuracy", csv_path=written.history_csv)
        callbacks = [monitor, checkpoint]
        early = None
        if config.patience and config.patience > 0:
            early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                                  restore_best_weights=True, verbose=1)
            callbacks.append(early)
        train_data, val_data = train, val
        if dist.name != "default":
            row_log = RowLog(os.path.basename(train.source.db.filename), dist.worker, dist.workers) \
                if dist.workers > 1 else None
            callbacks.extend([row_log] if row_log else [])
            train_data = distributed_input(dist, train, batch_size, workers, row_log)
            val_data = distributed_input(dist, val, batch_size, workers)
        # Last, so an epoch counts as done for --resume only once all its outputs are written.
        callbacks.append(state.callback(os.path.splitext(written.model)[0] + "_backup", start_epoch))
        dist.announce(batch_size)
        print(f"[INFO] training {name} on {train.num_images * dist.workers} images (validating on "
              f"{val.num_images * dist.workers}) for up to {epochs} epochs"
              + (f", resuming after epoch {start_epoch}" if start_epoch else ""))
        if train.shard is not None and train.num_images * dist.workers < train.source.num_images:
            print(f"[NOTE] {train.source.num_images - train.num_images * dist.workers} training "
                  "images left out: each epoch uses whole global batches, shared equally by the workers")
        started = time.perf_counter()
        # Ctrl-C or SIGTERM stops between batches, so the best model and the
        # backup for --resume are never cut off half-written.
        with interrupt_between_batches() as stop:
            history = model.fit(train_data, validation_data=val_data, epochs=epochs,
                                callbacks=[stop, *callbacks], verbose=2)
        seconds = time.perf_counter() - started
        if checkpoint.best_epoch is None and not os.path.exists(written.model):
            # val_loss never became finite: keep the last weights rather than nothing.
            with atomic_path(written.model) as tmp:
                precision.float32_copy(model).save(tmp)
        epochs_run = start_epoch + len(history.history.get("loss", []))
        val_losses = monitor.history.get("val_loss", [])  # includes the epochs before a resume
        best_epoch = min(range(len(val_losses)), key=val_losses.__getitem__) + 1 if val_losses else None
        run = run_info({
            "epochs_requested": epochs, "epochs_run": epochs_run,
            "best_epoch": best_epoch, "best_val_loss": min(val_losses, default=None),
            "early_stopped": bool(early is not None and early.stopped_epoch > 0),
            "resumed_from_epoch": start_epoch or None, "train_seconds": round(seconds, 1),
            "images_per_second": round(train.num_images * dist.workers
                                       * (epochs_run - start_epoch) / seconds, 1),
        })
        write_json(written.labels, list(class_names))
        save_model_info(written.model, class_names, input_spec, run)
        if dist.chief:
            print(f"[INFO] trained to epoch {epochs_run} in {seconds:.0f}s; best epoch {best_epoch} "
                  f"(val_loss {checkpoint.best:.4f}) saved as {outputs.model}")
            run = evaluate_best_model(outputs, train, val, input_spec, class_names, run, config)
            outputs.print_written()
        else:
            print(f"[INFO] trained to epoch {epochs_run} in {seconds:.0f}s; the chief writes the "
                  "outputs")
        return run
