"""Tests of the local model engines (a package, so its conftest does not shadow tests/conftest.py)."""
