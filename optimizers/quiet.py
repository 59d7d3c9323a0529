"""Keep training commands' output to progress lines: no library progress bars, no deprecation chatter."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_training() -> Iterator[None]:
    """Meanwhile, silence transformers' and datasets' progress bars and their Future/Deprecation warnings."""
    from ugst_dspy.extras import require

    hf_logging = require("transformers.utils.logging", "train", "a training command")

    try:
        import datasets
    except ImportError:  # pragma: no cover - the [train] extra brings it
        datasets = None
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    data_bars = datasets is not None and datasets.is_progress_bar_enabled()
    if datasets is not None:
        datasets.disable_progress_bars()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        if data_bars:
            datasets.enable_progress_bars()
