import signal
import sys


class UserError(Exception):
    """A problem the user can fix (bad path, bad flag, bad file).

    Scripts print it as one line, with no traceback, and exit with
    `exit_code`: 2 for wrong usage, 1 for a problem found while running.
    """

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code


def run_cli(main, argv=None):
    """Call `main(argv)` and turn user errors into one line on stderr plus an
    exit code; return the code for sys.exit. Bugs still show a traceback.

    SIGTERM is turned into KeyboardInterrupt, so `kill` cleans up exactly
    like Ctrl-C (temporary files removed, completed outputs kept)."""
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        return main(argv) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        # Disk full, permission denied, read-only folder: the user's machine,
        # not a bug, so one line that names the file.
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
