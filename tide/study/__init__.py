"""The human study: build it from evaluated runs (blinded items, balanced assignment, rater forms, Label
Studio project, the key kept apart), import the responses, analyse them (docs/human-study.md)."""
