"""Prompt optimisation, SFT, GRPO and checkpoint export. Installed as ``ugst_dspy.optimizers``."""
