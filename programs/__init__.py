"""Composed DSPy programs (the paper's simulator and evaluator configurations) and their compiled states.

Installed as ``ugst_dspy.programs``. ``states/`` holds the saved state of each configuration
(``python -m ugst_dspy.programs`` rewrites the defaults; ``ugst optimize`` writes compiled ones).
"""

from ugst_dspy.programs.evaluator import UGSTEvaluator
from ugst_dspy.programs.io import build_program, load_program, save_program, shipped_program

__all__ = ["UGSTEvaluator", "build_program", "load_program", "save_program", "shipped_program"]
