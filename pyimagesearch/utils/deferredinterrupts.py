"""Ctrl-C and `kill` acted on where the program chooses.

Python runs a signal handler wherever the main thread happens to be, so the
default KeyboardInterrupt can land inside h5py, a thread pool or TensorFlow's
Python code while they hold a lock or are half-way through a file, and the
clean-up that follows can then wait on that lock forever. Inside
`deferred_interrupts()` the handler only records the signal; the program
calls `check()` between two steps of its work (an image, a batch), where
raising KeyboardInterrupt is safe. A second signal raises at once, for a
user who will not wait for the step to finish.
"""

import contextlib
import signal
import threading


class Interrupts:
    """The SIGINT/SIGTERM seen since the block began, raised by `check()`."""

    def __init__(self):
        self.requested = False

    def request(self, signum=None, frame=None):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def deferred_interrupts(signals=(signal.SIGINT, signal.SIGTERM)):
    """Yield an Interrupts whose `check()` raises KeyboardInterrupt once one
    of `signals` has arrived. A signal after the last check is dropped: the
    work is done by then. Signals the process ignores (a `nohup` job's
    SIGINT) stay ignored; the previous handlers are restored at the end."""
    interrupts = Interrupts()
    # Only the main thread may set signal handlers; elsewhere nothing changes.
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, interrupts.request)
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
