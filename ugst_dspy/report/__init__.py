"""Presentation of results: tables in text, Markdown, CSV and JSON; the self-contained HTML report; PNG charts.

:mod:`ugst_dspy.report.plots` needs matplotlib (the ``report`` extra) and imports it only when drawing.
"""

from ugst_dspy.report.html import render_report
from ugst_dspy.report.table import FORMATS, format_success_table

__all__ = ["FORMATS", "format_success_table", "render_report"]
