"""Each distinct text through the sentence encoder once, shared by every score that needs an encoding.

The encoder's forward pass is the evaluation's dominant cost on a CPU. One `TextEmbeddings` per batch of
rows holds, for every distinct reply and reference:

- the normalised sentence embedding (cosine similarity, the factor scorer);
- optionally the last layer's token states (BERTScore on the same encoder: bert_score's greedy matching,
  tide.evaluate.reference.bertscore_from_embeddings), which are exactly what bert_score computes itself
  for that encoder and layer (same tokenizer and weights; a test checks the values). The sentence encoder
  truncates at 256 tokens and bert_score at 512, so pairs with a text that long go to bert_score's own
  pass instead;
- optionally the mean-pooled hidden states of chosen layers, concatenated (the EPITOME mechanism scorers
  read layers 3-6 of all-MiniLM-L6-v2: the middle layers carry more of what people label as empathy than
  the sentence embedding does; docs/evaluation.md has the comparison).

All three come from one forward pass per batch (longest texts first, as SentenceTransformer.encode
batches them); the sentence embedding is the encoder's own pooling and normalisation.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch


@contextlib.contextmanager
def _hidden_states(encoder, wanted: bool):
    """The encoder's transformer also returns every layer's hidden states while this is open."""
    config = encoder[0].auto_model.config
    before = config.output_hidden_states
    config.output_hidden_states = wanted or before
    try:
        yield
    finally:
        config.output_hidden_states = before


class TextEmbeddings:
    """Distinct texts encoded once; rows are looked up by text."""

    def __init__(self, encoder, texts: list[str], batch_size: int = 64, tokens: bool = False,
                 layers: tuple[int, ...] = ()):
        self.texts = list(dict.fromkeys(texts))
        self.position = {text: i for i, text in enumerate(self.texts)}
        self.max_tokens = getattr(encoder, "max_seq_length", None)
        self.layers = tuple(layers)
        dimension = encoder.get_embedding_dimension()
        self.sentences = torch.zeros((len(self.texts), dimension))
        self.token_states: list[torch.Tensor] | None = [None] * len(self.texts) if tokens else None
        self.layer_means = torch.zeros((len(self.texts), len(self.layers) * dimension)) if self.layers else None
        order = np.argsort([-len(text) for text in self.texts], kind="stable")
        with _hidden_states(encoder, bool(self.layers)), torch.inference_mode():
            for start in range(0, len(order), batch_size):
                self._encode_batch(encoder, order[start:start + batch_size].tolist())

    def _encode_batch(self, encoder, indices: list[int]) -> None:
        from sentence_transformers.util import batch_to_device

        features = batch_to_device(encoder.preprocess([self.texts[i] for i in indices]), encoder.device)
        out = encoder(features)
        self.sentences[indices] = torch.nn.functional.normalize(out["sentence_embedding"].float(), dim=-1).cpu()
        mask = out["attention_mask"]
        if self.token_states is not None:
            # The real tokens only (bert_score drops the padding the same way).
            for row, index in enumerate(indices):
                self.token_states[index] = out["token_embeddings"][row, : int(mask[row].sum())].float().cpu()
        if self.layers:
            weights = mask.unsqueeze(-1).float()
            pooled = [(out["all_layer_embeddings"][layer] * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                      for layer in self.layers]
            self.layer_means[indices] = torch.cat(pooled, dim=-1).float().cpu()

    def rows(self, texts: list[str]) -> torch.Tensor:
        """The normalised sentence embedding of each text (texts must have been encoded)."""
        return self.sentences[[self.position[t] for t in texts]]

    def numpy_rows(self, texts: list[str]) -> np.ndarray:
        return self.rows(texts).cpu().numpy()

    def layer_rows(self, texts: list[str]) -> np.ndarray:
        """(n, len(layers) x dimension): each text's mean-pooled hidden states of the chosen layers."""
        if self.layer_means is None:
            raise ValueError("these embeddings were computed without layer states (layers=())")
        return self.layer_means[[self.position[t] for t in texts]].numpy()

    def truncated(self, text: str) -> bool:
        """The encoder may have cut this text (it filled max_seq_length tokens); bert_score, which
        truncates later (the tokenizer's 512), needs its own pass for it."""
        return self.max_tokens is not None and len(self.tokens(text)) >= self.max_tokens

    def tokens(self, text: str) -> torch.Tensor:
        if self.token_states is None:
            raise ValueError("these embeddings were computed without token states (tokens=False)")
        return self.token_states[self.position[text]]
