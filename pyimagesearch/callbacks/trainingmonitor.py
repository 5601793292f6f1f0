import csv
import json
import os

import keras
import numpy as np
from matplotlib.figure import Figure

from ..utils.atomic import atomic_path, write_json
from ..utils.booknames import accepts_book_names


class TrainingMonitor(keras.callbacks.Callback):
    """After every epoch, rewrite a loss/accuracy plot (PNG) and, if given,
    the history so far as JSON (`json_path`) and CSV (`csv_path`).

    Watch the PNG while a long run trains. `start_at` resumes a history: the
    JSON file's first `start_at` epochs are kept and new epochs appended.
    `marks` ({epoch: label}) draws a line after each such epoch, e.g. where
    a run in phases switches to the next one.
    """

    @accepts_book_names(figPath="fig_path", jsonPath="json_path", startAt="start_at")
    def __init__(self, fig_path, json_path=None, start_at=0, title=None, csv_path=None, marks=None):
        super().__init__()
        self.fig_path = fig_path
        self.json_path = json_path
        self.csv_path = csv_path
        self.start_at = start_at
        self.title = title
        self.marks = marks or {}
        self.history = {}

    def on_train_begin(self, logs=None):
        self.history = {}
        if self.start_at > 0 and self.json_path and os.path.exists(self.json_path):
            with open(self.json_path, encoding="utf-8") as f:
                self.history = {k: v[:self.start_at] for k, v in json.load(f).items()}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key == "learning_rate":
                continue
            self.history.setdefault(key, []).append(float(value))
        if self.json_path:
            write_json(self.json_path, self.history)
        if self.csv_path:
            self.write_csv()
        if len(self.history.get("loss", [])) > 0:
            self.plot()

    def write_csv(self):
        """The history as Keras' CSVLogger lays it out (epoch from 0, then the
        metrics in sorted order). Not CSVLogger itself: it appends to a file
        kept open, so a crash or Ctrl-C could leave it empty, cut short or
        out of step with the JSON, and a resumed run would have to repair
        it. Rewriting the whole file atomically from the same history as the
        JSON avoids all three."""
        keys = sorted(self.history)
        with atomic_path(self.csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["epoch", *keys])
            writer.writerows([epoch, *row]
                             for epoch, row in enumerate(zip(*(self.history[k] for k in keys))))

    def plot(self):
        # A Figure without pyplot: no GUI backend, safe in threads and on
        # machines without a display. Loss and accuracy get their own panels
        # because their scales differ.
        fig = Figure(figsize=(8, 7))
        loss_ax, acc_ax = fig.subplots(2, 1, sharex=True)
        losses = []
        for key, values in sorted(self.history.items()):
            ax = loss_ax if "loss" in key else acc_ax
            ax.plot(range(1, len(values) + 1), values, label=key)
            if "loss" in key:
                losses.extend(values)
        # BatchNorm nets often show a huge validation loss in epoch 1; cap the
        # axis so the rest of the curve stays readable.
        if losses:
            loss_ax.set_ylim(0, min(max(losses), 3 * float(np.median(losses))) * 1.05)
        acc_ax.set_ylim(0, 1.02)
        fig.suptitle(self.title or f"Training loss and accuracy [epoch {len(self.history['loss'])}]")
        loss_ax.set_ylabel("loss")
        acc_ax.set_ylabel("accuracy")
        acc_ax.set_xlabel("epoch")
        for epoch, label in self.marks.items():
            if epoch >= len(self.history["loss"]):
                continue
            for ax in (loss_ax, acc_ax):
                ax.axvline(epoch + 0.5, color="grey", linestyle="--", linewidth=1)
            acc_ax.annotate(label, (epoch + 0.5, 0.02), xytext=(4, 0), textcoords="offset points",
                            color="grey", fontsize=9)
        for ax in (loss_ax, acc_ax):
            ax.legend(loc="best")
            ax.grid(alpha=0.3)
        with atomic_path(self.fig_path) as tmp:
            fig.savefig(tmp, dpi=100)
