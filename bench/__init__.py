"""Benchmarks: each runs the real server in its own process next to a bare baseline."""
