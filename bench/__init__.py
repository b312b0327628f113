"""Benchmarks: the engine against the naive pandas/openpyxl way, the I/O floor and pyx12."""
