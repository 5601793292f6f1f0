"""Ctrl-C or `kill` during model.fit, acted on between batches (see
utils/deferredinterrupts.py for why). Keras has no callback for this."""

import contextlib

import keras

from ..utils.deferredinterrupts import deferred_interrupts


class StopBetweenBatches(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch or epoch boundary after a
    signal was recorded in `interrupts` (a utils.deferredinterrupts.Interrupts)."""

    def __init__(self, interrupts):
        super().__init__()
        self.interrupts = interrupts

    def stop_if_requested(self, *args, **kwargs):
        self.interrupts.check()

    # Begin hooks only: raised from an end hook, the interrupt would cut off
    # the callbacks after this one that write the epoch's outputs.
    on_epoch_begin = on_train_batch_begin = on_test_batch_begin = stop_if_requested


@contextlib.contextmanager
def interrupt_between_batches():
    """Yield a StopBetweenBatches callback to pass to model.fit: while the
    block runs, SIGINT and SIGTERM stop training at the next batch."""
    with deferred_interrupts() as interrupts:
        yield StopBetweenBatches(interrupts)
