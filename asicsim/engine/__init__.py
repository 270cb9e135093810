"""Stages 3–6 — mapping (tiling, residency), event simulation (simpy), energy, and the results table."""
