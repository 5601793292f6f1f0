"""--exclude FILE[:KIND,...]: leave some files of a dataset out of a run
without moving them. FILE is a list of paths, one a line, or the CSV that
check_dataset.py writes (a `path` and a `kind` column); with a CSV, only
the rows of the given kinds count (default: DEFAULT_KINDS, the same files
check_dataset.py --quarantine moves by default)."""

import csv
import os
import sys

from ..utils.errors import UserError

# Findings that are safe to drop without a person looking: the copies
# beyond the first of each duplicate group, files that cannot be decoded,
# and every member of a duplicate group filed under two labels.
DEFAULT_KINDS = ("exact_duplicate", "near_duplicate", "unreadable", "conflict")


class ExcludeList(dict):
    """What --exclude names, as a dict so that it is recorded in a run's
    sidecar with the rest of the arguments: the file, the kinds, how many
    paths it lists and, once applied to a listing, how many of the
    dataset's files it left out ("excluded")."""

    def __init__(self, file, kinds, paths):
        super().__init__(file=os.path.abspath(file), kinds=kinds, listed=len(paths), excluded=None)
        self.paths = paths

    def keep_mask(self, paths, root=None):
        """True for each of `paths` that the list does not name; records the count."""
        names = {_normal(p) for p in self.paths}
        if root is not None:
            # Entries relative to the dataset folder, as a plain list may give them.
            names |= {_normal(os.path.join(root, p)) for p in self.paths if not os.path.isabs(p)}
        keep = [_normal(p) not in names for p in paths]
        self["excluded"] = len(keep) - sum(keep)
        return keep

    def apply(self, paths, labels, root=None):
        """(paths, labels) without the listed files, in the same order."""
        keep = self.keep_mask(paths, root)
        print(f"[INFO] --exclude {self['file']}: left out {self['excluded']} of {len(paths)} files "
              f"({self['listed']} listed)", file=sys.stderr)
        return ([p for p, k in zip(paths, keep) if k], [lab for lab, k in zip(labels, keep) if k])


def read_exclude(value, known_kinds=None):
    """Parse --exclude FILE[:KIND,...]; a UserError, one line, when the file
    is missing or a kind is not among `known_kinds` (the kinds
    check_dataset.py writes: the command line passes them, since the check
    sits above this module). An ExcludeList loaded from a sidecar (a plain
    dict) is read again."""
    if value is None or isinstance(value, ExcludeList):
        return value
    if isinstance(value, dict):
        return _read(value["file"], value.get("kinds"))
    file, kinds = value, None
    head, sep, tail = value.rpartition(":")
    if sep and head and not os.path.exists(value) and "/" not in tail and os.sep not in tail:
        file, kinds = head, [k.strip() for k in tail.split(",") if k.strip()]
    unknown = [k for k in kinds or () if known_kinds is not None and k not in known_kinds]
    if unknown:
        raise UserError(f"--exclude {file}: unknown kind {', '.join(unknown)}; choose from "
                        f"{', '.join(known_kinds)}")
    return _read(file, kinds)


def _read(file, kinds):
    try:
        with open(file, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as exc:
        raise UserError(f"{file}: cannot read the --exclude file ({exc.strerror}); give a list of "
                        "paths, one a line, or check_dataset.py's CSV") from None
    lines = text.splitlines()
    if lines and lines[0].startswith("path,") and ",kind" in lines[0]:
        wanted = set(kinds or DEFAULT_KINDS)
        paths = [row["path"] for row in csv.DictReader(lines) if row["kind"] in wanted]
    else:
        if kinds:
            raise UserError(f"--exclude {file}: kinds only apply to check_dataset.py's CSV; "
                            "this is a plain list of paths")
        paths = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return ExcludeList(file, list(kinds or ()) or None, paths)


def _normal(path):
    return os.path.normcase(os.path.realpath(path))
