"""Composition: one simulated step, rule comparisons, co-simulation, study files and sweeps."""
