"""Fixtures of the experiment tests (helpers live in ``exp_helpers``, importable from the test files)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from exp_helpers import gbstats_run


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


@pytest.fixture
def gbstats() -> Callable[..., Any]:
    return gbstats_run
