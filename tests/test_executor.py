"""Running work in other processes: the batch runner's worker and isolated stages."""

from __future__ import annotations

import os

import pytest

from apisight.errors import ApisightError
from apisight.executor import run_isolated


def test_an_isolated_call_runs_in_another_process_and_returns_its_result():
    assert run_isolated(os.getpid) != os.getpid()
    assert run_isolated(divmod, 17, 5) == (3, 2)


def test_an_isolated_call_raises_its_error_here():
    with pytest.raises(ZeroDivisionError):
        run_isolated(divmod, 1, 0)


def test_a_process_that_dies_while_running_is_an_error_not_a_second_try_here():
    with pytest.raises(ApisightError, match="the process running the test stage ended unexpectedly.*Run it again"):
        run_isolated(os._exit, 3, what="the test stage", rerun="Run it again.")
