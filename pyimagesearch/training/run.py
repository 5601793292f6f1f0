"""One training run of a folder trainer, from the split data to every
output: compile, train with the run's callbacks, evaluate on the test split,
save the model, sidecar, labels, plots and logs.

The scripts (train_simple_nn.py, train_vgg.py) only choose the model, the
input size and the optimizer; everything they have in common lives here and
in the modules beside it (data, outputs, config, resume, distribute).
"""

import contextlib
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from ..callbacks import TrainingMonitor
from ..callbacks.bestmodel import BestModelCheckpoint
from ..callbacks.rowlog import RowLog
from ..callbacks.stopbetweenbatches import interrupt_between_batches
from ..datasets.classweights import weights_for_run
from ..evaluation.confusion import mistakes
from ..evaluation.reports import report_predictions, save_confusion_matrix
from ..explain.summary import EvaluatedImages, explain_run
from ..modelfiles.paths import OutputPaths
from ..modelfiles.sidecar import image_counts, run_stamp, save_model_info
from ..utils.atomic import atomic_path, write_json
from ..utils.errors import UserError
from . import precision
from .data import BatchOptions, Shard, part_dataset, predict_part
from .distribute import Distribution
from .phases import as_phases, phase_starts
from .resume import ResumeState, best_so_far


@dataclass
class Session:
    """What start_run hands the trainer: the resume state, the epoch the run
    starts after (0 for a fresh run), the paths this worker writes to, and
    the model to train: the trainer's, or its copy under --precision's policy."""
    state: ResumeState
    start_epoch: int
    written: OutputPaths
    model: keras.Model
    chief_history: str  # the chief's history JSON, which every worker reads
    chief: bool = True  # whether this process is the chief, the one that writes `outputs`


@contextlib.contextmanager
def start_run(model, optimizer, outputs, dist, config, loss="sparse_categorical_crossentropy"):
    """What every trainer does before model.fit: check the outputs can be
    written (chief), seed Keras, compile inside the strategy's scope, and
    find where an interrupted run left off. Yields a Session whose `written`
    are the paths this worker writes to: `outputs` itself on the chief and a
    temporary folder, deleted at the end, on the other workers. A fresh run
    stopped before its first epoch completes removes its `<model>_backup/`:
    there is nothing to resume."""
    if dist.chief:
        outputs.check_writable()
        outputs.remove_leftovers()
    keras.utils.set_random_seed(config.seed)
    with dist.scope():
        model = precision.for_training(model, config.precision)
    _compile(model, optimizer, loss, dist)
    state = ResumeState(outputs.model)
    start_epoch = state.prepare(config.resume, chief=dist.chief, arguments=config.arguments)
    with dist.output_folder(os.path.dirname(os.path.abspath(outputs.model))) as folder:
        try:
            yield Session(state, start_epoch, outputs.moved_to(folder), model, outputs.history_json,
                          dist.chief)
        except BaseException:
            if dist.chief and not start_epoch and not state.epoch:
                shutil.rmtree(state.folder, ignore_errors=True)
            raise


def _compile(model, optimizer, loss, dist):
    with dist.scope():
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


@dataclass
class Recipe:
    """How a run trains, fixed before its first epoch: the `phases`
    (training.phases.Phase, each with its optimizer), the `loss`, the
    `global_batch` size (all replicas) and what happens to each training
    batch (`batch`, a BatchOptions)."""
    phases: list
    loss: object
    global_batch: int
    batch: BatchOptions


def fit_and_evaluate(model, split, optimizer, input_spec, outputs, config, dist=None):
    """Compile, train with EarlyStopping on validation loss, evaluate on the
    test split and write the model, sidecar, labels, plots and logs.

    `optimizer` is the optimizer, or a list of training.phases.Phase for a
    run in phases (each recompiles the model with its optimizer and
    trainable weights; EarlyStopping watches the last one only).
    `config` (a RunConfig) holds the run's options: epochs, batch size per
    replica, patience, seed, resume, test-time mirroring, label smoothing
    (Szegedy et al. 2016), MixUp, CutMix and the augmentation layer applied
    to each training batch. `dist` is the Distribution the model and
    optimizer were built under (default: one device). Only the chief writes
    to `outputs`; `config.resume` continues from `<model>_backup/`, which
    exists while a run is unfinished. Returns the dict saved as the
    sidecar's "run" section.
    """
    dist = dist or Distribution.one_device()
    phases = as_phases(optimizer, config.epochs)
    if phases[0].prepare:
        phases[0].prepare(model)
    n_train = len(split.train)
    batch_size = dist.batch_for(config.batch_size, n_train)
    name = config.architecture or model.name
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
            if config.one_hot else "sparse_categorical_crossentropy")
    with start_run(model, phases[0].optimizer, outputs, dist, config, loss) as session:
        dist.announce(batch_size)
        print(f"[INFO] training {name} on {n_train} images (validating on {len(split.val)}, "
              f"testing on {len(split.test)}) for up to {config.epochs} epochs"
              + (f", resuming after epoch {session.start_epoch}" if session.start_epoch else ""))
        weights, weight_record = weights_for_run(config.class_weight, split.y_train, split.class_names)
        global_batch = dist.global_batch(batch_size)
        if dist.workers > 1:
            used = n_train // global_batch * global_batch
            if used < n_train:
                print(f"[NOTE] {n_train - used} training images left out: each epoch uses whole "
                      "global batches, shared equally by the workers")
            n_train = used
        one_hot = len(split.class_names) if config.one_hot else None
        recipe = Recipe(phases, loss, global_batch,
                        BatchOptions(config.augment, one_hot, config.mixup, config.cutmix, weights))
        trained = _train(session, split, input_spec, config, dist, recipe)
        run = {
            "architecture": name,
            "arguments": config.arguments,
            "seed": config.seed,
            "precision": precision.training_policy(session.model),
            "distribution": dist.describe(batch_size),
            "epochs_requested": config.epochs,
            "class_weight": weight_record,
            **trained,
            **image_counts(train=n_train, val=len(split.val), test=len(split.test)),
            "data": split.data,
        }
        # The saved model, evaluated as users will load it.
        return _evaluate_and_save(precision.float32_copy(session.model), split, input_spec, config,
                                  session, run, global_batch)


@dataclass
class _Watchers:
    """The callbacks that watch a run's epochs: the plot and history
    (`monitor`), --checkpoint best's saves, EarlyStopping, and the rows
    each worker read (multi-worker runs)."""
    monitor: TrainingMonitor
    checkpoint: object = None
    early: object = None
    row_log: object = None
    stop: object = None  # callbacks.stopbetweenbatches's, while training runs


def _train(session, split, input_spec, config, dist, recipe):
    """model.fit with the run's callbacks, once per phase; Ctrl-C ends
    training, not the run. Returns the training facts for the sidecar."""
    model, start_epoch = session.model, session.start_epoch
    interrupted, phase_facts, watchers = False, [], None
    try:
        # The pipelines are built inside the block too: a signal that lands
        # while TensorFlow builds them (its Python code raised a ValueError
        # when a KeyboardInterrupt cut through an import) stops the run at
        # the first batch instead.
        with interrupt_between_batches() as stop:
            watchers = _watchers(session, split, input_spec, config, dist, recipe.phases)
            watchers.stop = stop
            feeds = _feeds(split, input_spec, config.seed, dist, recipe, watchers.row_log)
            start = time.perf_counter()
            _fit_phases(session, feeds, dist, recipe, watchers, len(split.train), phase_facts)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM ends training, not the run: the completed
        # epochs are evaluated and saved like a full run, and
        # <model>_backup/ stays for --resume. The signal is acted on
        # between batches, so every epoch's outputs are whole.
        if watchers is None or len(watchers.monitor.history.get("loss", [])) <= start_epoch:
            raise
        interrupted = True
        print("\n[NOTE] interrupted: evaluating and saving the best completed epoch; "
              f"--resume continues from epoch {session.state.epoch}", file=sys.stderr)
        if watchers.early is not None and watchers.early.best_weights is not None:
            model.set_weights(watchers.early.best_weights)
    train_seconds = time.perf_counter() - start
    checkpoint, early = watchers.checkpoint, watchers.early
    if checkpoint is not None and checkpoint.best_epoch is not None and (
            early is None or early.best_weights is None):
        # Without EarlyStopping's restored weights, the best epoch is the saved model's.
        model.set_weights(keras.models.load_model(session.written.model, compile=False,
                                                  safe_mode=True).get_weights())
    facts = _training_facts(watchers, start_epoch, phase_starts(recipe.phases)[-1], len(split.train),
                            train_seconds, interrupted, len(split.val) > 0)
    if len(recipe.phases) > 1:
        facts["phases"] = phase_facts
    return facts


def _watchers(session, split, input_spec, config, dist, phases):
    """The run's _Watchers, set up to continue from session.start_epoch."""
    written, has_val = session.written, len(split.val) > 0
    row_log = None
    if dist.workers > 1:
        name = ("train.hdf5" if "hdf5" in split.data else
                os.path.basename(split.data.get("cache", "")) or "the training images")
        row_log = RowLog(name, dist.worker, dist.workers)
    starts = phase_starts(phases)
    monitor = TrainingMonitor(written.plot, json_path=written.history_json, start_at=session.start_epoch,
                              csv_path=written.history_csv,
                              marks={start: phase.name for start, phase in zip(starts[1:], phases[1:])})
    checkpoint = None
    if config.checkpoint == "best" and has_val:
        checkpoint = _best_model_checkpoint(session.model, split, input_spec, config, session)
    early = None
    if config.patience and config.patience > 0 and has_val:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience,
                                              restore_best_weights=True, verbose=1)
    elif not has_val:
        print("[NOTE] no validation split (--val-size 0): EarlyStopping is off and the last "
              "epoch's weights are kept")
    return _Watchers(monitor, checkpoint, early, row_log)


def _feeds(split, input_spec, seed, dist, recipe, row_log):
    """(training, validation or None) pipelines for model.fit."""
    train_ds = _feed(split.train, recipe.global_batch, input_spec, dist, row_log, shuffle=True,
                     seed=seed, options=recipe.batch)
    if not len(split.val):
        return train_ds, None
    # Keras averages the first batch over the replicas to learn its shape, so
    # that batch must split evenly: a multiple of the replicas.
    val_batch = min(recipe.global_batch, len(split.val) // dist.replicas * dist.replicas)
    if not val_batch:
        raise UserError(f"{len(split.val)} validation images cannot be shared by {dist.replicas} "
                        "replicas; pass a larger --val-size")
    return train_ds, _feed(split.val, val_batch, input_spec, dist,
                           options=BatchOptions(one_hot=recipe.batch.one_hot))


def _fit_phases(session, feeds, dist, recipe, watchers, n_train, phase_facts):
    """model.fit over each phase not yet finished, appending each phase's
    facts to `phase_facts` as it ends (kept when a later one is interrupted)."""
    model, start_epoch, phases = session.model, session.start_epoch, recipe.phases
    starts = phase_starts(phases)
    backup_folder = os.path.splitext(session.written.model)[0] + "_backup"
    # A resumed run skips the phases it had finished.
    first = next(i for i, phase in enumerate(phases) if phase.end_epoch > start_epoch or
                 i == len(phases) - 1)
    for i in range(first, len(phases)):
        phase, last = phases[i], i == len(phases) - 1
        initial = max(starts[i], start_epoch)
        if len(phases) > 1:
            if phase.prepare:
                phase.prepare(model)
            _compile(model, phase.optimizer, recipe.loss, dist)
            if starts[i] > start_epoch:
                # The saved state holds the previous phase's optimizer;
                # --resume from here must restore this one's.
                session.state.save_phase_start(model, backup_folder, dist)
            print(f"[INFO] phase {i + 1}/{len(phases)}: {phase.name}, epochs {initial + 1}-"
                  f"{phase.end_epoch}, {_count_weights(model.trainable_weights)} trainable "
                  f"weights, learning rate {_describe_lr(phase.optimizer)}")
        watchers.monitor.start_at = initial
        # EarlyStopping in the last phase only: the earlier ones are
        # fixed-length (a warm-up). BackupAndRestore last, so an epoch
        # counts as done for --resume only once all its outputs are
        # written; it keeps its state between phases.
        epoch_callbacks = [watchers.stop, watchers.monitor] + [
            c for c in (watchers.checkpoint, watchers.row_log) if c is not None]
        epoch_callbacks += [watchers.early] if watchers.early is not None and last else []
        epoch_callbacks.append(session.state.callback(backup_folder, start_epoch if i == first else 0,
                                                      delete_checkpoint=last))
        phase_start = time.perf_counter()
        # shuffle=False: the tf.data pipeline already reshuffles every epoch.
        model.fit(feeds[0], validation_data=feeds[1], epochs=phase.end_epoch, initial_epoch=initial,
                  callbacks=epoch_callbacks, shuffle=False, verbose=2)
        seconds = time.perf_counter() - phase_start
        phase_facts.append({
            "name": phase.name, "epochs": [initial + 1, phase.end_epoch],
            "trainable_weights": _count_weights(model.trainable_weights),
            "learning_rate": _describe_lr(phase.optimizer), "seconds": round(seconds, 1),
            "images_per_second": round(n_train * (phase.end_epoch - initial) / seconds, 1)
            if seconds else None})


def _training_facts(watchers, start_epoch, last_start, n_train, train_seconds, interrupted, has_val):
    """The sidecar's facts of the epochs run: how many, the best, whether
    EarlyStopping stopped the run or Ctrl-C interrupted it, and the speed."""
    history, early = watchers.monitor.history, watchers.early
    epochs_run = len(history["loss"])
    # With EarlyStopping the weights kept are the best of this process's epochs
    # of the last phase (a resumed run does not see the earlier ones' weights).
    first_watched = max(start_epoch, last_start) if early is not None else 0
    best_epoch = (first_watched + int(np.argmin(history["val_loss"][first_watched:])) + 1
                  if has_val and len(history["val_loss"]) > first_watched else epochs_run)
    stopped = bool(early is not None and early.stopped_epoch > 0)
    print(f"[INFO] trained {epochs_run} epochs in {train_seconds:.0f}s; "
          + (f"EarlyStopping stopped at epoch {epochs_run}, " if stopped else "")
          + (f"best epoch {best_epoch}" if has_val else "kept the last epoch")
          + (" (weights restored)" if early is not None else ""))
    images = n_train * (epochs_run - start_epoch)
    return {"epochs_run": epochs_run, "best_epoch": best_epoch, "early_stopped": stopped,
            "interrupted": interrupted, "resumed_from_epoch": start_epoch or None,
            "train_seconds": round(train_seconds, 1),
            "images_per_second": round(images / train_seconds, 1) if train_seconds else None}


def _best_model_checkpoint(model, split, input_spec, config, session):
    """--checkpoint best: the model saved (with a sidecar predict.py can use)
    after every epoch that lowers val_loss, so a long run that crashes still
    leaves its best model. Every worker reads the best value so far from
    the chief's history, so that all of them save (and join the same
    collective ops) together."""
    def save_sidecar(path, epoch, logs):
        save_model_info(path, split.class_names, input_spec, {
            "architecture": config.architecture or model.name, "arguments": config.arguments,
            "best_epoch": epoch, "finished": None, "val_loss": float(logs["val_loss"]),
            "val_accuracy": float(logs.get("val_accuracy", math.nan)), "data": split.data})

    start = session.start_epoch
    # A model trained under a mixed-precision policy is saved as float32.
    return BestModelCheckpoint(session.written.model, on_save=save_sidecar,
                               best=best_so_far(session.chief_history, start) if start else math.inf,
                               saved_form=precision.float32_copy)


def _feed(part, global_batch, input_spec, dist, row_log=None, **pipeline):
    """part_dataset(**pipeline) for model.fit under `dist`. On several
    workers, each worker's pipeline reads only its own share of the rows
    (distribute_datasets_from_function: TensorFlow shards nothing itself)
    and hands one batch per local replica; otherwise one pipeline of global
    batches, which the strategy splits between the local replicas."""
    if dist.workers == 1:
        return part_dataset(part, global_batch, input_spec, **pipeline)
    per_replica = global_batch // dist.replicas
    usable = len(part) // global_batch * global_batch

    def worker_pipeline(context):
        shard = Shard(context.input_pipeline_id, context.num_input_pipelines, usable, row_log)
        return part_dataset(part, per_replica, input_spec, shard=shard, **pipeline)

    return dist.strategy.distribute_datasets_from_function(worker_pipeline)


def _count_weights(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def _describe_lr(optimizer):
    """The learning rate as configured: a number, or the schedule's name and
    peak (its current value depends on the step)."""
    rate = optimizer.get_config()["learning_rate"]
    if isinstance(rate, dict):  # a serialized schedule
        config = rate["config"]
        peak = config.get("warmup_target") or config.get("initial_learning_rate")
        return f"{rate['class_name']} from {peak:g}"
    return f"{float(rate):g}"


def _evaluate_and_save(model, split, input_spec, config, session, run, global_batch):
    """Evaluate the trained model on the test split (or validation, when
    there is none), save it with its sidecar and labels, and on the chief
    explain it (report, top losses) and list the files written."""
    written = session.written
    evaluated_on, part = "test", split.test
    if not len(part):
        # build_hdf5.py's files without test.hdf5.
        evaluated_on, part = "val", split.val
        print("[NOTE] no test images: evaluating on the validation images, which also chose the "
              "best epoch, so the accuracy is optimistic", file=sys.stderr)
    print(f"[INFO] evaluating on the {evaluated_on} split...")
    batch = max(global_batch, 128)
    mirror_average = config.mirror_test
    probs = predict_part(model, part, input_spec, batch, mirror_average)
    if mirror_average:
        print(f"[INFO] {evaluated_on} predictions average each image and its mirror image")
    y_pred = probs.argmax(axis=1)
    fields, accuracy = report_predictions(part.labels, y_pred, split.class_names, split=evaluated_on)
    run.update({
        **fields,
        f"{evaluated_on}_mirror_average": mirror_average,
        **mistakes(part.labels, y_pred, split.class_names, evaluated_on),
        **run_stamp(tensorflow=tf.__version__, keras=keras.__version__),
    })
    run["evaluated_on"] = evaluated_on
    if evaluated_on != "test":
        run["test_images"] = 0
    name = run["architecture"]
    save_confusion_matrix(written.confusion, part.labels, y_pred, split.class_names,
                          title=f"{name}: {evaluated_on} accuracy {accuracy:.3f}")
    # (--checkpoint best wrote the model during this run: nothing of an earlier one.)
    replaced = [p for p in (written.model, written.sidecar) if os.path.exists(p)
                and config.checkpoint != "best"]
    # Every worker saves (saving may join collective ops); only the chief's
    # `written` is the real output folder.
    with atomic_path(written.model) as tmp:
        model.save(tmp)
    write_json(written.labels, split.class_names)
    save_model_info(written.model, split.class_names, input_spec, run)
    if session.chief:
        evaluated = EvaluatedImages(part.labels, probs, split.class_names, evaluated_on, part.lazy(),
                                    part.paths)
        explain_run(model, evaluated, input_spec, written, run, config.top_losses)
        if replaced:
            print(f"[NOTE] replaced the previous {', '.join(replaced)}")
        # On the chief, `written` is the run's own output paths.
        written.print_written()
    return run
