import contextlib
import json
import os
import re
import shutil
import sys

from .errors import UserError


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    A crash or Ctrl-C inside the block deletes the temporary file, so the
    final name only ever holds a complete file (os.replace is atomic on one
    file system). The extension is kept because Keras and matplotlib choose
    the format from it. The temporary may be made a folder (a SavedModel):
    an earlier folder at `path` is then replaced by it.
    """
    path = os.fspath(path)
    directory, prefix, ext = _temporary_name(path)
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f"{prefix}{os.getpid()}{ext}")
    try:
        yield tmp
        if os.path.isdir(tmp) and os.path.isdir(path):
            shutil.rmtree(path)  # os.replace cannot replace a folder that is not empty
        os.replace(tmp, path)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp)
        elif os.path.exists(tmp):
            os.remove(tmp)


def _temporary_name(path):
    """(folder, prefix, extension) of atomic_path's temporary files for
    `path`: `.{stem}.tmp-{pid}{ext}` beside it."""
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    stem, ext = os.path.splitext(name)
    return directory, f".{stem}.tmp-", ext


def left_by_other_processes(directory, prefix, suffix=""):
    """The paths in `directory` named `{prefix}{pid}{suffix}` for a pid other
    than this process's: what another run wrote under its own pid and, if it
    was killed outright (SIGKILL, a power cut: no clean-up ran), left."""
    pattern = re.compile(rf"{re.escape(prefix)}(\d+){re.escape(suffix)}")
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names
            if (match := pattern.fullmatch(name)) and int(match.group(1)) != os.getpid()]


def _others_temporaries(path):
    """[(temporary file, pid)] of atomic_path's files for `path` written by
    other processes, running or not."""
    directory, prefix, ext = _temporary_name(path)
    return [(leftover, int(os.path.basename(leftover)[len(prefix):len(os.path.basename(leftover)) - len(ext)]))
            for leftover in left_by_other_processes(directory, prefix, ext)]


def being_written(path):
    """Whether another process that is still running is writing `path`
    through atomic_path (its temporary file is there)."""
    return any(process_running(pid) for _, pid in _others_temporaries(path))


def remove_leftover_temporaries(path, keep_running=False):
    """Delete the temporary files atomic_path made for `path` in another
    process that never finished. Call it before writing `path`; returns what
    was removed. `keep_running` spares the files of processes still running:
    they may be writing `path` at this very moment."""
    removed = []
    for leftover, pid in _others_temporaries(path):
        if keep_running and process_running(pid):
            continue
        with contextlib.suppress(OSError):  # not removable: harmless, leave it
            os.remove(leftover)
            removed.append(leftover)
    return removed


def process_running(pid):
    """Whether a process `pid` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, run by another user
        return True
    return True


def write_json(path, obj):
    """Write `obj` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def ensure_writable_folder(folder, flag="the output path"):
    """Create `folder` if needed; fail before any long work, not after it,
    when it cannot be created or written (exit code 1)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create output folder ({exc.strerror}); "
                        f"choose another {flag}", 1) from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"{folder}: output folder is not writable; choose another {flag}", 1)


def check_output_file(path, flag="the output path"):
    """Fail before any long work when the file `path` cannot be written: it
    is a folder (exit 2), or its folder cannot be created or written (exit 1)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder; give {flag} a file name")
    ensure_writable_folder(os.path.dirname(os.path.abspath(path)), flag)


def report_replaced(paths, what="the previous"):
    """Say which earlier outputs a run has just replaced (`paths` that
    existed before it started), on stderr: stdout may carry results."""
    if paths:
        print(f"[NOTE] replaced {what} {', '.join(map(os.fspath, paths))}", file=sys.stderr)
