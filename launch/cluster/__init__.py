"""Running sweeps on Ray clusters: job submission and example cluster definitions."""
