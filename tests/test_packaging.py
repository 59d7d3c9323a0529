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
