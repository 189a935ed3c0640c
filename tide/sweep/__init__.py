"""Sweeps: W&B-format specs whose parameters are Hydra overrides, run on Ray Tune or as W&B agents."""
