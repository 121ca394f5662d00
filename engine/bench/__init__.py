"""Benchmarks: ``python -m engine.bench <name>`` prints one JSON object.

Speed and memory goals live here, never in timed unit tests.
"""
