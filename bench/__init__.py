"""Benchmarks of ugst-dspy: each prints a table and writes JSON results under bench/results/."""
