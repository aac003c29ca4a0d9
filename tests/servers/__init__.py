"""Test servers speaking real protocols (over real HTTP) with faults on demand."""
