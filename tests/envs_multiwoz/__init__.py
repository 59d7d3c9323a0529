"""Tests of the MultiWOZ environment and the MultiWOZ Challenge goals (a package, so its conftest does not
shadow tests/conftest.py)."""
