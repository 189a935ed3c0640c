"""Hermetic test environment: no network, one thread per op, W&B offline; shared tiny artifacts."""

import os

# Before anything imports transformers, datasets or wandb: they read these at import time.
os.environ.update(
    OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", WANDB_MODE="offline", HF_HUB_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0",
)

import json  # noqa: E402
import socket  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# A small Llama shape: the same code paths as the default tiny model, in a fraction of the time.
SMALL_ARCHITECTURE = {
    "model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
    "tie_word_embeddings": True,
}
SMALL_TOKENIZER = {"vocab_size": 1024, "min_frequency": 2}  # model.tokenizer options (also Hydra overrides)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    from tide.data.synthetic import write_synthetic_tide

    out = tmp_path_factory.mktemp("synthetic") / "tide"
    write_synthetic_tide(out, n_personas=40, conversations_per_persona=5, seed=1)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, synthetic_dir) -> Path:
    from tests.configs import config_for
    from tide.config import with_options
    from tide.data.reader import read_tide
    from tide.models.tiny import build_tiny_model

    records = read_tide(synthetic_dir).records
    texts = [text for r in records for text in (r["client"], r["reference"])]
    out = tmp_path_factory.mktemp("models") / "tiny"
    tokenizer = with_options(config_for("model=tiny").model.tokenizer, SMALL_TOKENIZER, path="model.tokenizer")
    build_tiny_model(out, texts, SMALL_ARCHITECTURE, tokenizer, seed=0)
    return out


@pytest.fixture(scope="session")
def data_artifact(tmp_path_factory, synthetic_dir):
    """The synthetic TIDE files as a data artifact (split Parquet + manifest), as `launch.data` writes it."""
    from tests.configs import config_for
    from tide.data.prepare import prepare_dataset

    artifact_dir = tmp_path_factory.mktemp("data-artifact") / "tide"
    data = config_for("data=tide", **{"data.dir": str(synthetic_dir), "data.lenient": False,
                                      "data.artifact_dir": str(artifact_dir),
                                      "data.split": {"train": 0.8, "val": 0.1, "test": 0.1, "seed": 42,
                                                     "stratify_on": []}}).data
    prepare_dataset(data)
    return artifact_dir


@pytest.fixture(scope="session")
def tiny_varied_model_dir(tmp_path_factory, tiny_model_dir):
    """The tiny model with larger random weights.

    At its initial scale (std 0.02) the tiny model answers every prompt with the same greedy reply, so
    "identical replies" would prove nothing; with std 0.3 replies depend on the prompt.
    """
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    out = tmp_path_factory.mktemp("varied-model") / "tiny"
    shutil.copytree(tiny_model_dir, out)  # tokenizer files and all
    model.save_pretrained(out)
    return out


@pytest.fixture
def write_persona():
    """Write one persona's metadata and conversation files, in the flat or nested layout."""

    def write(root: Path, key: str, metadata, conversations, layout: str = "nested") -> tuple[Path, Path]:
        meta_dir = root / "metadata" if layout == "nested" else root
        conv_dir = root / "conversations" if layout == "nested" else root
        meta_dir.mkdir(parents=True, exist_ok=True)
        conv_dir.mkdir(parents=True, exist_ok=True)
        paths = meta_dir / f"{key}_metadata.json", conv_dir / f"{key}_conversations.json"
        for path, payload in zip(paths, (metadata, conversations)):
            path.write_bytes(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        return paths

    return write


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a connection to a non-local address."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def ray_local(tmp_path_factory):
    """One local Ray for the whole test session (ray.init costs seconds)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield ray
    ray.shutdown()
