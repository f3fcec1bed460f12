"""Benchmarks at clinic-network scale (issue 6): ``bench.generate``, ``bench.run``, ``bench.loadtest``."""
