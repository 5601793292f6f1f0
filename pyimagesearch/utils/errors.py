import os
import signal
import sys

from .tfstartup import hide_startup_lines


class UserError(Exception):
    """A problem the user can fix (bad path, bad flag, bad file).

    Scripts print it as one line, with no traceback, and exit with
    `exit_code`: 2 for wrong usage, 1 for a problem found while running.
    """

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code


def first_line(exc):
    """The first line of an exception's message (or its type's name), short
    enough to quote in a UserError."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def run_cli(main, argv=None):
    """Call `main(argv)` and turn user errors into one line on stderr plus an
    exit code; return the code for sys.exit (an interrupted run exits 130
    right here, see _exit_interrupted). Bugs still show a traceback.

    SIGTERM is turned into KeyboardInterrupt, so `kill` cleans up exactly
    like Ctrl-C (temporary files removed, completed outputs kept). During
    model.fit both wait for the end of the batch: see callbacks/stopbetweenbatches.py."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # TensorFlow's start-up notices (one reads "failed call to cuInit: CUDA
    # error" on every CPU-only machine) and its INFO and WARNING log lines
    # are left out, unless --verbose or the user's own TF_CPP_MIN_LOG_LEVEL
    # asks for them.
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    if not verbose and "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        hide_startup_lines()
    try:
        code = main(argv) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except OSError as exc:
        # Disk full, permission denied, read-only folder: the user's machine,
        # not a bug, so one line that names the file.
        where = f" {exc.filename}:" if exc.filename else ""
        print(f"error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1
    if code == 130:
        _exit_interrupted()
    return code


def _exit_interrupted():
    """Exit 130 at once, skipping the interpreter's shutdown. An interrupted
    model.fit can leave Keras' data-loading threads in the middle of a
    TensorFlow op; shutting down around them sometimes aborted the process
    ("terminate called without an active exception", SIGABRT) or hung it.
    By now every output is complete: written atomically and closed as the
    interrupt unwound."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
