"""``python -m ugst_dspy`` is the ``ugst`` command."""

from ugst_dspy.cli.app import run

run()
