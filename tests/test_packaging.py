"""The package layout: every library folder is installed, programs/ and optimizers/ under ugst_dspy."""

from __future__ import annotations

import tomllib

import ugst_dspy

from conftest import REPO


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(("ugst_dspy", *p.parent.relative_to(REPO / "ugst_dspy").parts)).rstrip(".")
        for p in (REPO / "ugst_dspy").rglob("__init__.py")
    }
    found |= {"ugst_dspy.programs", "ugst_dspy.optimizers"}
    found |= {f"ugst_dspy.programs.{'.'.join(p.parent.relative_to(REPO / 'programs').parts)}"
              for p in (REPO / "programs").rglob("__init__.py") if p.parent != REPO / "programs"}
    assert found == listed
    assert config["package-dir"] == {"ugst_dspy": "ugst_dspy", "ugst_dspy.programs": "programs",
                                     "ugst_dspy.optimizers": "optimizers"}


def test_programs_and_optimizers_import_under_the_package():
    import ugst_dspy.optimizers
    import ugst_dspy.programs

    assert ugst_dspy.programs.__file__.endswith("programs/__init__.py")
    assert ugst_dspy.optimizers.__file__.endswith("optimizers/__init__.py")


def test_public_api_is_explicit():
    assert all(hasattr(ugst_dspy, name) for name in ugst_dspy.__all__)
    assert "from ugst_dspy" not in "" and "*" not in (REPO / "ugst_dspy" / "__init__.py").read_text()


def test_the_package_data_patterns_ship_every_data_file_and_nothing_else():
    """Every file under ugst_dspy/data (the benchmark data, docs/data.md) matches a package-data pattern of
    pyproject.toml, and every pattern matches a file: a new kind of data file needs a pattern here."""
    import glob

    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["ugst_dspy"]
    root = REPO / "ugst_dspy"
    matched = {pattern: set(glob.glob(pattern, root_dir=root)) for pattern in patterns}
    files = {p.relative_to(root).as_posix() for p in (root / "data").rglob("*") if p.is_file()}
    assert files and not any("__pycache__" in name for name in files)
    assert sorted(files - set().union(*matched.values())) == [], "data files no pattern ships"
    assert [pattern for pattern, names in matched.items() if not names] == [], "patterns that match nothing"
    assert set().union(*matched.values()) <= files
    assert all(pattern.startswith("data/") for pattern in patterns)
