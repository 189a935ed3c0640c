"""Settings as plain trees: their digest, which names an output shared by runs (the data artifact, the tiny
model) by every setting that shapes it, so a run with other settings writes beside it and never over it;
and what differs between two of them, which a refusal names (`train.lora.r: 4 -> 8`).

conf/ spells such a name with the `settings_digest` resolver (registered by tide.core.runtime, which
every composition of conf/ imports):

    name: synthetic-...-${settings_digest:${data.synthetic},${data.split},${data.lenient}}
"""

from __future__ import annotations

import hashlib
import json

RESOLVER = "settings_digest"
DIGEST_CHARS = 10


def settings_digest(*values) -> str:
    """A short, stable hash of plain values (dict key order does not matter)."""
    text = json.dumps(list(values), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def _resolve(*values) -> str:
    from omegaconf import Container, OmegaConf

    return settings_digest(*(OmegaConf.to_container(value, resolve=True) if isinstance(value, Container) else value
                             for value in values))


def register_resolvers() -> None:
    """Make `${settings_digest:...}` known to OmegaConf (idempotent; nothing to do where it is not installed)."""
    try:
        from omegaconf import OmegaConf
    except ImportError:  # a process that never composes conf/ (e.g. a bare GPU check's wheel set)
        return

    if not OmegaConf.has_resolver(RESOLVER):
        OmegaConf.register_new_resolver(RESOLVER, _resolve)


def changed_settings(old: dict, new: dict, prefix: str = "") -> list[str]:
    """'key: old -> new' for every leaf that differs (dotted keys, each after `prefix`)."""
    flat_old, flat_new = _leaves(old, prefix), _leaves(new, prefix)
    return [f"{key}: {flat_old.get(key, '(unset)')} -> {flat_new.get(key, '(unset)')}"
            for key in sorted(flat_old.keys() | flat_new.keys()) if flat_old.get(key) != flat_new.get(key)]


def _leaves(tree, prefix: str = "") -> dict:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    leaves = {}
    for key, value in tree.items():
        leaves.update(_leaves(value, f"{prefix}{key}."))
    return leaves
