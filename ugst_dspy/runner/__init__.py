"""Running many items with workers, resumable output and progress (the runner floor)."""

from ugst_dspy.runner.batch import BatchReport, run_batch

__all__ = ["BatchReport", "run_batch"]
