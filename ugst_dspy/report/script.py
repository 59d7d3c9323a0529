"""The HTML report's script, inlined into every report: filters, paging, lazy timelines and annotation.

It reads the data block once (``<script type="application/json" id="ugst-data">``, see
:mod:`ugst_dspy.report.data`), renders one page of the conversation list, and builds a conversation's
timeline and turns only when it is expanded (with, for records made with behaviours, a badge per behaviour
that acted on each user message: filled where the rule check finds it shown, outlined where not), and
filters the list by behaviour as by the other fields. Every text from the data goes into the page through
``textContent`` or an attribute value, never as markup. ``window.ugstReport`` exposes a few functions for
tests and for scripting the page.

The script itself is ``report.js`` beside this module (package data, read once), so it is edited, linted and
diffed as JavaScript.
"""

from importlib import resources

SCRIPT = resources.files("ugst_dspy.report").joinpath("report.js").read_text(encoding="utf-8")

