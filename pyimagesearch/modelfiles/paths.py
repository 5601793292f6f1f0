"""Where a training run writes its outputs, all named after the model file
(TensorFlow-free, so predict.py and other light scripts can use it too)."""

import os
from dataclasses import dataclass

from ..utils.atomic import ensure_writable_folder, remove_leftover_temporaries

# The tutorial's (Keras 2's) model names: .model, .h5, .hdf5 or none at all.
TUTORIAL_MODEL_EXTENSIONS = (".model", ".h5", ".hdf5", "")


def keras3_names(model, labels=None, reading=False, stream=None):
    """The files a run writes (trainers) or reads (predict.py, `reading`) for
    --model and --label-bin: the model as .keras, the only format Keras 3
    saves whole models in, and the labels as .json, never pickle, each
    renamed with a note on `stream` (stdout by default). The trainers and
    predict.py share it so the tutorial's commands find each other's files.
    Reading renames only the tutorial's model names, leaving any other
    format predict.py reads as it is. Returns (model, labels)."""
    verb = "reading" if reading else "writing"
    stem, ext = os.path.splitext(model)
    if ext != ".keras" and (not reading or ext in TUTORIAL_MODEL_EXTENSIONS):
        print(f"[NOTE] Keras 3 saves models as .keras: {verb} {stem}.keras instead of {model}", file=stream)
        model = stem + ".keras"
    if labels:
        lstem, lext = os.path.splitext(labels)
        if lext != ".json":
            print(f"[NOTE] labels are saved as JSON, never pickle: {verb} {lstem}.json instead of {labels}",
                  file=stream)
            labels = lstem + ".json"
    return model, labels


def writeup_files(stem):
    """The files an evaluation's write-up puts beside `stem` (a model's
    path without its extension): confusion matrix, top losses, HTML report."""
    return stem + "_confusion.png", stem + "_top_losses.png", stem + "_report.html"


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
        return writeup_files(self.stem)[0]

    @property
    def top_losses(self):
        return writeup_files(self.stem)[1]

    @property
    def report(self):
        return writeup_files(self.stem)[2]

    @classmethod
    def from_args(cls, model, labels=None, plot=None):
        """The outputs for a trainer's --model, --label-bin and --plot, the
        tutorial's names renamed as keras3_names says."""
        model, labels = keras3_names(model, labels)
        stem = os.path.splitext(model)[0]
        return cls(model, labels or stem + "_labels.json", plot or stem + "_plot.png")

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
                ("history JSON", self.history_json), ("confusion matrix", self.confusion),
                ("top losses", self.top_losses), ("HTML report", self.report)]

    def print_written(self, confusion=True):
        """List every output of the run (the confusion matrix only if made,
        the top losses unless --top-losses 0 left them out)."""
        print("[INFO] wrote:")
        for label, path in self.files():
            if (confusion or path != self.confusion) and (path != self.top_losses or os.path.exists(path)):
                print(f"  {label:17s}{path}")

    def check_writable(self):
        for path in (self.model, self.labels, self.plot):
            ensure_writable_folder(os.path.dirname(os.path.abspath(path)), "--model/--label-bin/--plot")

    def remove_leftovers(self):
        """Delete the temporary files of these outputs that a killed run left."""
        for _, path in self.files():
            for leftover in remove_leftover_temporaries(path):
                print(f"[NOTE] removed {leftover}, left by a run that was killed")
