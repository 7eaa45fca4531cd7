"""Behavioural detection: entities, windows, baselines, detectors, alerts."""
