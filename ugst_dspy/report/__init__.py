"""Presentation of results: tables in text, Markdown, CSV and JSON (HTML reports and plots come later)."""

from ugst_dspy.report.table import FORMATS, format_success_table

__all__ = ["FORMATS", "format_success_table"]
