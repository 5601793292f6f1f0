"""--quarantine DIR moves flagged files out of a dataset, keeping their
paths relative to it, and --restore MANIFEST puts them back. Nothing is
ever deleted.

Safe against interruption: the manifest (every file to move, its size) is
written, atomically, before the first move, and each move is one rename
(os.replace) or, across file systems, a copy to a temporary name in DIR,
a rename, then the removal of the original. A run stopped anywhere leaves
each file in one of three states, all of which restore() and a repeated
quarantine() handle: not moved yet, moved, or (cross-device only) moved
with its original still in place."""

import filecmp
import json
import os
import shutil
from datetime import UTC, datetime

from ..utils.atomic import write_json
from ..utils.errors import UserError

MANIFEST = "manifest.json"


def plan(findings, root, kinds):
    """{relative path: [kinds]} of the findings of `kinds` inside `root`."""
    moves = {}
    root = os.path.abspath(root)
    for finding in findings:
        if finding.kind in kinds:
            relative = os.path.relpath(os.path.abspath(finding.path), root)
            if not relative.startswith(os.pardir):
                moves.setdefault(relative, []).append(finding.kind)
    return moves


def quarantine(moves, root, folder):
    """Move the planned files into `folder`; returns the manifest's path.
    A manifest already in `folder` (an earlier or interrupted run) is kept
    and extended, and its unfinished moves are completed."""
    root, folder = os.path.abspath(root), os.path.abspath(folder)
    if folder == root or folder.startswith(root + os.sep):
        raise UserError(f"--quarantine {folder}: is inside the dataset {root}; the trainers would "
                        "read the quarantined files as a class: choose a folder outside it")
    path = os.path.join(folder, MANIFEST)
    manifest = read_manifest(path) if os.path.exists(path) else {"dataset": root, "files": {}}
    if manifest["dataset"] != root:
        raise UserError(f"{path}: holds files of {manifest['dataset']}, not {root}; choose another "
                        "--quarantine folder")
    for relative, kinds in moves.items():
        source = os.path.join(root, relative)
        if relative not in manifest["files"] and os.path.isfile(source):
            manifest["files"][relative] = {"kinds": kinds, "bytes": os.path.getsize(source)}
    manifest["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
    os.makedirs(folder, exist_ok=True)
    write_json(path, manifest)
    for relative in manifest["files"]:
        move_file(os.path.join(root, relative), os.path.join(folder, relative))
    return path


def quarantine_findings(findings, root, kinds, folder):
    """Move the files of `findings` of `kinds` from dataset `root` into
    `folder`; returns (the moves, the manifest that undoes them)."""
    moves = plan(findings, root, kinds)
    return moves, quarantine(moves, root, folder)


def restore(path):
    """Put back every file `path` (a manifest) lists; returns how many moved."""
    manifest = read_manifest(path)
    folder, root = os.path.dirname(os.path.abspath(path)), manifest["dataset"]
    moved = 0
    for relative in manifest["files"]:
        moved += move_file(os.path.join(folder, relative), os.path.join(root, relative))
    return moved


def move_file(source, target):
    """Move one file; True if it moved. Idempotent: a file already at its
    target is left alone, and a copy interrupted before its original was
    removed finishes (the original is removed only when both are equal)."""
    if not os.path.exists(source):
        return False
    if os.path.exists(target):
        if not filecmp.cmp(source, target, shallow=False):
            raise UserError(f"{target}: exists and differs from {source}; move one of them away, "
                            "then run again", 1)
        os.remove(source)  # a finished copy's original: both hold the same bytes
        return True
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != 18:  # EXDEV: another file system
            raise
        partial = target + ".partial"
        shutil.copy2(source, partial)
        os.replace(partial, target)
        os.remove(source)
    return True


def read_manifest(path):
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        manifest["dataset"], manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a quarantine manifest ({type(exc).__name__}); give the "
                        f"{MANIFEST} that --quarantine wrote") from None
    return manifest
