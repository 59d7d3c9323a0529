"""Composed DSPy programs (the paper's simulator and evaluator configurations) and their compiled states.

Installed as ``ugst_dspy.programs``.
"""
