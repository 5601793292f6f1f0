"""The learning-rate schedules and optimizers the trainers build by name."""

import keras
import numpy as np
import pytest

from pyimagesearch.training.optimizers import learning_rate_schedule, make_optimizer


def rates(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


def test_decay_is_the_tutorials_per_step_rule():
    schedule = learning_rate_schedule("decay", 0.01, epochs=50, steps_per_epoch=10)
    steps = np.array([0, 1, 10, 499])
    np.testing.assert_allclose(rates(schedule, steps), 0.01 / (1 + 0.01 / 50 * steps), rtol=1e-6)


def test_cosine_warms_up_then_falls_to_zero_at_the_last_step():
    epochs, per_epoch, warmup = 10, 20, 2
    schedule = learning_rate_schedule("cosine", 0.002, epochs, per_epoch, warmup_epochs=warmup)
    warm = rates(schedule, range(warmup * per_epoch + 1))
    assert warm[0] == 0 and warm[-1] == pytest.approx(0.002)
    assert np.all(np.diff(warm) > 0)
    after = rates(schedule, range(warmup * per_epoch, epochs * per_epoch + 1))
    assert np.all(np.diff(after) <= 1e-9)
    midway = (warmup * per_epoch + epochs * per_epoch) // 2
    assert float(schedule(midway)) == pytest.approx(0.001, rel=1e-3)  # half-way down the cosine
    assert after[-1] == pytest.approx(0.0, abs=1e-9)


def test_cosine_without_warmup_starts_at_the_full_rate():
    schedule = learning_rate_schedule("cosine", 0.1, epochs=4, steps_per_epoch=5)
    assert float(schedule(0)) == pytest.approx(0.1) and float(schedule(20)) == pytest.approx(0.0, abs=1e-9)


def test_optimizers_by_name():
    sgd = make_optimizer("sgd", 0.01, schedule="constant", momentum=0.8)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.8
    adamw = make_optimizer("adamw", 0.002, schedule="cosine", epochs=3, steps_per_epoch=2,
                           weight_decay=0.05)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == 0.05
    assert isinstance(make_optimizer("adam", 0.001), keras.optimizers.Adam)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("rmsprop", 0.01)
