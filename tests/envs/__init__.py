"""Tests of the τ-bench environments (a package, so its conftest does not shadow tests/conftest.py)."""
