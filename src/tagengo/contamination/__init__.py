"""Benchmark contamination: training rows that overlap benchmark questions (docs/contamination.md)."""
