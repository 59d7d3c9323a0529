"""The benchmark data folder: the packaged copy by default, --data-dir / $UGST_DATA_DIR instead, a folder that
is not there is one line naming it, and gzip'ed files read as if they were plain."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from ugst_dspy.envs import datafiles
from ugst_dspy.envs.datafiles import PACKAGED_DATA, data_dir, read_bytes, read_json, read_json_lines, stored_path
from ugst_dspy.envs.multiwoz import MultiWOZEnv, load_multiwoz_db, multiwoz_db_dir
from ugst_dspy.envs.registry import default_goals_path, make_env
from ugst_dspy.envs.tau_common import load_database, load_tasks
from ugst_dspy.errors import UgstError


@pytest.fixture(autouse=True)
def no_data_dir_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UGST_DATA_DIR", raising=False)


def test_the_default_is_the_copy_installed_with_the_package():
    assert data_dir() == PACKAGED_DATA == Path(datafiles.__file__).resolve().parents[1] / "data"
    assert default_goals_path("tau-retail") == PACKAGED_DATA / "tau_bench" / "retail_test.jsonl"
    assert default_goals_path("tau-airline").is_file() and default_goals_path("multiwoz").is_file()
    assert len(make_env("tau-retail").db["users"]) == 500 and make_env("multiwoz").db["taxi"]


def test_an_explicit_folder_or_the_variable_that_is_not_there_is_one_line(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere"
    with pytest.raises(UgstError) as err:
        make_env("tau-retail", missing)
    assert str(err.value) == f"benchmark data folder {missing} (from --data-dir) does not exist"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UgstError, match=r"\(from --data-dir\) is not a folder$"):
        data_dir(tmp_path / "a-file")
    monkeypatch.setenv("UGST_DATA_DIR", str(missing))
    for call in (lambda: make_env("multiwoz"), lambda: default_goals_path("tau-airline"), data_dir):
        with pytest.raises(UgstError) as err:
            call()
        assert str(err.value) == f"benchmark data folder {missing} (from $UGST_DATA_DIR) does not exist"


def test_a_folder_without_the_expected_files_is_one_line_naming_it(tmp_path):
    with pytest.raises(UgstError, match=f"τ-bench data not found: {tmp_path / 'tau_bench'} is missing"):
        default_goals_path("tau-retail", tmp_path)
    with pytest.raises(UgstError, match=f"MultiWOZ databases not found under {tmp_path}"):
        default_goals_path("multiwoz", tmp_path)
    (tmp_path / "tau_bench").mkdir()
    with pytest.raises(UgstError) as err:
        default_goals_path("tau-airline", tmp_path)
    assert str(err.value) == f"benchmark data file not found: {tmp_path / 'tau_bench' / 'airline_test.jsonl'}"


def copy_plain(source: Path, target: Path) -> Path:
    """The packaged data decompressed into ``target``: the layout of a reference copy."""
    for logical in datafiles.data_files(source):
        (target / logical).parent.mkdir(parents=True, exist_ok=True)
        (target / logical).write_bytes(read_bytes(source / logical))
    return target


def test_a_plain_folder_given_by_flag_or_variable_reads_the_same(tmp_path, monkeypatch):
    plain = copy_plain(PACKAGED_DATA, tmp_path / "plain")
    assert not list(plain.rglob("*.gz"))
    orders = (plain / "tau_bench" / "db" / "retail" / "orders.json").read_text(encoding="utf-8")
    changed = json.loads(orders)
    changed["#W2378156"]["status"] = "marked by this test"
    (plain / "tau_bench" / "db" / "retail" / "orders.json").write_text(json.dumps(changed), encoding="utf-8")
    assert load_database("retail", plain)["orders"]["#W2378156"]["status"] == "marked by this test"
    assert load_database("retail")["orders"]["#W2378156"]["status"] == "delivered"
    monkeypatch.setenv("UGST_DATA_DIR", str(plain))
    assert data_dir() == plain and make_env("tau-retail").db["orders"]["#W2378156"]["status"] == "marked by this test"
    assert data_dir(PACKAGED_DATA) == PACKAGED_DATA  # the flag wins over the variable
    assert load_tasks("airline", "test") == load_tasks("airline", "test", PACKAGED_DATA)
    assert load_multiwoz_db() == load_multiwoz_db(PACKAGED_DATA)
    assert MultiWOZEnv.default_goals_path() == plain / "multiwoz" / "goals_test.jsonl"
    assert multiwoz_db_dir(plain / "multiwoz" / "db") == plain / "multiwoz" / "db"


def test_gzip_is_transparent_to_every_reader(tmp_path):
    folder = tmp_path / "tau_bench"
    shutil.copytree(PACKAGED_DATA / "tau_bench", folder)
    tasks = folder / "retail_dev.jsonl"
    plain_tasks = tasks.read_bytes()
    (folder / "retail_dev.jsonl.gz").write_bytes(gzip.compress(plain_tasks, mtime=0))
    tasks.unlink()
    assert stored_path(tasks) == folder / "retail_dev.jsonl.gz" and read_bytes(tasks) == plain_tasks
    assert load_tasks("retail", "dev", tmp_path) == load_tasks("retail", "dev", PACKAGED_DATA)
    assert read_json_lines(tasks)[0]["id"] == "retail-dev-0"
    assert stored_path(folder / "db" / "retail" / "users.json").name == "users.json.gz"
    assert isinstance(read_json(folder / "db" / "retail" / "users.json"), dict)


def test_unreadable_data_is_one_line(tmp_path):
    with pytest.raises(UgstError, match=f"^benchmark data file not found: {tmp_path / 'x.json'}$"):
        read_json(tmp_path / "x.json")
    (tmp_path / "x.json.gz").write_bytes(b"not gzip")
    with pytest.raises(UgstError, match=r"^cannot read .*x\.json\.gz: "):
        read_json(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{oops")
    with pytest.raises(UgstError, match=r"y\.json: invalid JSON at line 1"):
        read_json(tmp_path / "y.json")
    (tmp_path / "y.json.gz").write_bytes(gzip.compress(b"{}"))
    with pytest.raises(UgstError, match=r"y\.json is stored twice"):
        datafiles.data_files(tmp_path)
