"""Multi-chip systems: system config, collective closed forms, and the simpy communication model."""
