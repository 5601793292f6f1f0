"""--resume refuses flags that would restore the interrupted run's state
into a different model or data, and accepts the ones that may change."""

import pytest

from pyimagesearch.resume import ResumeState
from pyimagesearch.utils.errors import UserError

FLAGS = {"dataset": "animals", "size": 64, "epochs": 75, "patience": 15, "batch_size": 32,
         "resume": False, "workers": None}


def test_resume_checks_the_interrupted_runs_flags(tmp_path):
    model = tmp_path / "vgg.keras"
    assert ResumeState(model).prepare(False, arguments=FLAGS) == 0
    state = ResumeState(model)
    assert state.prepare(True, arguments={**FLAGS, "resume": True, "epochs": 100, "patience": 0,
                                          "workers": 2}) == 0
    with pytest.raises(UserError, match="--size was 64 in the interrupted run and is 32 now"):
        state.prepare(True, arguments={**FLAGS, "size": 32})
    with pytest.raises(UserError, match="--batch-size was 32"):
        state.prepare(True, arguments={**FLAGS, "batch_size": 8})


def test_a_fresh_run_replaces_the_recorded_flags(tmp_path):
    model = tmp_path / "vgg.keras"
    ResumeState(model).prepare(False, arguments=FLAGS)
    ResumeState(model).prepare(False, arguments={**FLAGS, "size": 32})  # starts afresh
    assert ResumeState(model).prepare(True, arguments={**FLAGS, "size": 32}) == 0


def test_resume_without_an_interrupted_run_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no interrupted run to resume"):
        ResumeState(tmp_path / "vgg.keras").prepare(True, arguments=FLAGS)
