"""Benchmarks for the course's projects: ``python -m benchmarks.batching`` (lesson 05)."""
