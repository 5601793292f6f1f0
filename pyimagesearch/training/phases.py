"""Runs in phases: stretches of one run with their own optimizer and
trainable weights, such as fine-tuning's head warm-up with the backbone
frozen, then the unfrozen backbone at a lower learning rate.

    phases = [Phase("head", 3, head_optimizer, freeze_backbone),
              Phase("fine-tuning", 12, fine_tune_optimizer, unfreeze_top_layers)]
    run.fit_and_evaluate(model, split, phases, input_spec, outputs, config)

A trainer with one optimizer passes it alone, which is one phase over the
whole run.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Phase:
    name: str
    end_epoch: int  # the run's epoch this phase ends after, counted from the run's start
    optimizer: object
    # Sets `layer.trainable` for this phase; runs before the phase compiles.
    prepare: Callable = None


def as_phases(optimizer, epochs):
    """A list of Phases from fit_and_evaluate's `optimizer` argument: a list
    is checked (ends increasing, the last at `epochs`), an optimizer is one
    phase of `epochs` epochs."""
    if not isinstance(optimizer, (list, tuple)):
        return [Phase("training", epochs, optimizer)]
    ends = [phase.end_epoch for phase in optimizer]
    if not optimizer or ends != sorted(set(ends)) or ends[0] < 1 or ends[-1] != epochs:
        raise ValueError(f"phase ends must increase up to the run's {epochs} epochs, got {ends}")
    return list(optimizer)


def phase_starts(phases):
    """The epoch each phase starts after: 0 for the first."""
    return [0] + [phase.end_epoch for phase in phases[:-1]]
