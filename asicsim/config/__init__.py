"""Stage 1 — configuration: the accelerator (``hardware``) and the training rule (``update``), validated."""
