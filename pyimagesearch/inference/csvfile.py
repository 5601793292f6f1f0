"""predict.py's --csv, written as the predictions come.

Rows go to `<csv>.partial`, flushed after each one, beside a small
`<csv>.partial.json` that names the model writing them; the file takes its
final name only when every image is done. An interrupted run (Ctrl-C,
`kill`, a crash, a power cut) leaves the partial file, and `--resume` reads
it (or the final CSV of an earlier run), skips the images it lists and
appends the rest: the finished file holds the same rows, in the same order,
as one uninterrupted run. A line cut short by a kill (no line end) is
dropped and its image classified again.
"""

import contextlib
import csv
import hashlib
import io
import json
import os
import sys

from ..utils.atomic import atomic_path, write_json
from ..utils.errors import UserError, first_line

PARTIAL = ".partial"


def csv_header(top_k):
    return ["path"] + [c for i in range(1, top_k + 1) for c in (f"label{i}", f"probability{i}")]


def model_fingerprint(model_path):
    """SHA-256 of the model file (None for a folder): a retrained or other
    model at the same path must not continue another one's CSV."""
    if not os.path.isfile(model_path):
        return None
    digest = hashlib.sha256()
    with open(model_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PredictionCSV:
    """The CSV of one predict.py run, as a context manager.

    `paths`: every image of the run, in output order; `class_names`: the
    model's. With `resume`, the rows of an earlier run's partial (or final)
    CSV are kept and `remaining` lists the paths still to classify; without
    it, any earlier partial file is started over. `write(row)` appends one
    row; leaving the block without an exception renames the file to `path`.
    """

    def __init__(self, path, paths, class_names, top_k, model_path, resume=False):
        self.path = os.fspath(path)
        self.partial = self.path + PARTIAL
        self.record_path = self.partial + ".json"
        self.header = csv_header(top_k)
        self.class_names = set(class_names)
        self.order = {p: i for i, p in enumerate(paths)}
        self.record = {"model": os.path.abspath(model_path), "model_sha256": model_fingerprint(model_path),
                       "columns": self.header}
        self.resume = resume
        self.done = []  # paths of the earlier run's rows kept, in file order
        self.written = 0
        self.in_order = True  # False once the rows leave `paths` order: resorted at the end
        self._last = -1
        self._file = None

    @property
    def remaining(self):
        done = set(self.done)
        return [p for p in self.order if p not in done]

    def __enter__(self):
        source = self._resume_source() if self.resume else None
        if source is None:
            if not self.resume and os.path.exists(self.partial):
                print(f"[NOTE] starting over: {self.partial} of an unfinished run is replaced "
                      "(--resume continues it instead)", file=sys.stderr)
            write_json(self.record_path, self.record)
            with open(self.partial, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(self.header)
        else:
            self._continue(source)
        self._file = open(self.partial, "a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        return self

    def write(self, row):
        self._writer.writerow(row)
        # Every printed result is in the file: a kill loses at most the row being written.
        self._file.flush()
        self.written += 1
        self._track(row[0])

    def __exit__(self, exc_type, exc, tb):
        self._file.close()
        if exc_type is not None:
            rows = len(self.done) + self.written
            print(f"[NOTE] {rows} rows kept in {self.partial}; rerun with --resume to classify "
                  "only the remaining images", file=sys.stderr)
            return False
        if self.in_order:
            with open(self.partial, "rb") as f:
                os.fsync(f.fileno())  # the rows reach the disk before the name says complete
            os.replace(self.partial, self.path)
        else:
            self._write_sorted()
            os.remove(self.partial)
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.record_path)
        return False

    def _track(self, path):
        index = self.order[path]
        self.in_order &= index > self._last
        self._last = max(self._last, index)

    def _resume_source(self):
        """The file --resume continues: the partial one, else the final CSV,
        else None (a note: nothing to resume, every image is classified)."""
        for candidate in (self.partial, self.path):
            if os.path.isfile(candidate):
                return candidate
        print(f"[NOTE] --resume: neither {self.partial} nor {self.path} exists; classifying every "
              "image", file=sys.stderr)
        return None

    def _continue(self, source):
        """Check `source` against this run, keep its complete rows of this
        run's images in the partial file and record their paths."""
        if source == self.partial:
            self._check_record()
        try:
            with open(source, newline="", encoding="utf-8") as f:
                text = f.read()
            complete = text[:text.rfind("\n") + 1]  # a line with no end was cut short by a kill
            rows = list(csv.reader(io.StringIO(complete, newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"{source}: not a CSV of predict.py ({first_line(exc)}); rerun without "
                            "--resume to start over") from None
        if not rows or rows[0] != self.header:
            found = ",".join(rows[0]) if rows else "nothing"
            raise UserError(f"{source}: its columns ({found}) are not this run's "
                            f"({','.join(self.header)}: --top-k {len(self.header) // 2}); rerun "
                            "with the same --top-k, or without --resume to start over")
        kept = []
        for number, row in enumerate(rows[1:], start=2):
            self._check_row(source, number, row)
            if row[0] in self.order:
                kept.append(row)
        if rows[1:] and not kept:
            raise UserError(f"{source}: none of its {len(rows) - 1} images are among --image "
                            f"(first: {rows[1][0]}); give --image as in the run that wrote it, "
                            "or rerun without --resume")
        dropped = len(rows) - 1 - len(kept)
        for row in kept:
            self._track(row[0])
        self.done = [row[0] for row in kept]
        write_json(self.record_path, self.record)
        if dropped or source != self.partial or len(complete) != len(text):
            # Rewrite the partial file with only the rows kept (atomically: a
            # kill now still leaves the previous one).
            with atomic_path(self.partial) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([self.header] + kept)
        if dropped:
            print(f"[NOTE] --resume: dropped {dropped} rows of {source} for images no longer "
                  "among --image", file=sys.stderr)
        print(f"[INFO] --resume: {len(kept)} images already in {source}, "
              f"{len(self.order) - len(kept)} to classify", file=sys.stderr)

    def _check_record(self):
        try:
            with open(self.record_path, encoding="utf-8") as f:
                record = json.load(f)
        except FileNotFoundError:
            return  # an older partial file: the columns and labels are still checked
        except (OSError, ValueError) as exc:
            record = first_line(exc)
        if not isinstance(record, dict):
            reason = record if isinstance(record, str) else "not a JSON object"
            raise UserError(f"{self.record_path}: unreadable ({reason}); rerun without --resume "
                            "to start over")
        if record.get("model_sha256") != self.record["model_sha256"]:
            raise UserError(f"{self.partial}: written by another model ({record.get('model')}, "
                            f"now --model {self.record['model']}); rerun with that --model, or "
                            "without --resume to start over")

    def _check_row(self, source, number, row):
        labels, probabilities = row[1::2], row[2::2]
        try:
            valid = (len(row) == len(self.header) and set(labels) <= self.class_names
                     and all(0 <= float(p) <= 1 for p in probabilities))
        except ValueError:
            valid = False
        if not valid:
            raise UserError(f"{source}: line {number} is not a prediction of this model "
                            f"(classes {', '.join(sorted(self.class_names))}); rerun with the "
                            "model that wrote it, or without --resume to start over")

    def _write_sorted(self):
        """The final CSV in `paths` order, when a resumed run's rows are not
        (the earlier run classified other images than a prefix of these)."""
        with open(self.partial, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader)
            rows = sorted(reader, key=lambda row: self.order[row[0]])
        with atomic_path(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([self.header] + rows)
