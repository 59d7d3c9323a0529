"""PNG charts for papers (matplotlib, the ``report`` extra)."""

from __future__ import annotations

import pytest

from ugst_dspy.metrics.success import success_table
from ugst_dspy.state import Category, Status

from .helpers import examples, synthetic

pytest.importorskip("matplotlib", reason="the [report] extra (matplotlib) is not installed")

from ugst_dspy.report.plots import category_success_png, status_shares, write_pngs  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def test_both_charts_are_written_as_png(tmp_path):
    paths = write_pngs([*examples(), *synthetic(20)], tmp_path / "figs", group_by="simulator")
    assert [p.name for p in paths] == ["category_success.png", "status_over_turns.png"]
    for path in paths:
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 10_000


def test_a_single_conversation_and_an_empty_category_still_draw(tmp_path):
    one = examples()[:1]
    assert write_pngs(one, tmp_path)[1].read_bytes().startswith(PNG)
    untracked = examples()[0].model_copy(update={"initial_state": None, "turns": []})
    rows = success_table([untracked])
    assert category_success_png(rows, tmp_path / "na.png", title="n/a only").read_bytes().startswith(PNG)


def test_status_shares_carry_the_final_state_to_the_end():
    conversations = examples()
    shares = status_shares(conversations)
    horizon = max(len(c.turns) for c in conversations)
    assert len(shares[Category.TASK_OBJECTIVE]) == horizon + 1
    assert shares[Category.TASK_OBJECTIVE][0] == {Status.INCOMPLETE: 6, Status.ATTEMPTED: 0, Status.COMPLETE: 0}
    final = {Status.INCOMPLETE: 0, Status.ATTEMPTED: 0, Status.COMPLETE: 0}
    for c in conversations:
        for item in c.final_state.of(Category.TASK_OBJECTIVE):
            final[item.status] += 1
    assert shares[Category.TASK_OBJECTIVE][-1] == final


def test_matplotlib_is_only_loaded_to_draw():
    import subprocess
    import sys

    code = "import sys, ugst_dspy.report.plots; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
