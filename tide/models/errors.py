"""The error every way of finding a model's weights raises when they are not on this machine.

Its own module so that loading (which converts GGUF files through tide.models.gguf) and gguf (whose
GGUFError is one) both import it without importing each other.
"""

from __future__ import annotations


class ModelNotAvailableError(RuntimeError):
    """The model's files are not on this machine and cannot be fetched."""
