"""Readers: one module per traffic format, registered under ``apisight.readers``."""
