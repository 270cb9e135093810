"""Stage 2 — workload: networks (YAML, SCALE-Sim topologies) and their lowering to GEMMs and vector ops."""
