"""Empathy evaluation: reference metrics, three-factor scores, safety, statistics, human ratings (docs/evaluation.md)."""
