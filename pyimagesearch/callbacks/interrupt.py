"""Ctrl-C or `kill` during model.fit, acted on between batches.

Python runs a signal handler wherever the main thread happens to be, so the
default KeyboardInterrupt can land inside h5py, matplotlib or TensorFlow's
Python code while they hold a lock or are half-way through a file; the
evaluation and saving that follow an interrupted run can then wait on that
lock forever. Keras has no callback for this, so here the handler only
records the signal, and a callback raises KeyboardInterrupt at the next
batch or epoch boundary, where Keras unwinds cleanly. A second signal raises
at once, for a user who will not wait for the batch to finish.
"""

import contextlib
import signal
import threading

import keras


class StopBetweenBatches(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch or epoch boundary after
    `request` was called (by a signal handler)."""

    def __init__(self):
        super().__init__()
        self.requested = False

    def request(self, signum=None, frame=None):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def stop_if_requested(self, *args, **kwargs):
        if self.requested:
            raise KeyboardInterrupt

    # Begin hooks only: raised from an end hook, the interrupt would cut off
    # the callbacks after this one that write the epoch's outputs.
    on_epoch_begin = on_train_batch_begin = on_test_batch_begin = stop_if_requested


@contextlib.contextmanager
def interrupt_between_batches(signals=(signal.SIGINT, signal.SIGTERM)):
    """Yield a StopBetweenBatches callback to pass to model.fit. While the
    block runs, `signals` are only recorded and the callback raises
    KeyboardInterrupt between batches. A signal that comes after the last
    batch is dropped: training is complete by then. Signals the process
    ignores (a `nohup` job's SIGINT) stay ignored."""
    callback = StopBetweenBatches()
    # Only the main thread may set signal handlers; elsewhere, fit runs as before.
    if threading.current_thread() is not threading.main_thread():
        yield callback
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, callback.request)
    try:
        yield callback
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
