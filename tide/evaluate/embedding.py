"""Each distinct text through the sentence encoder once, shared by every score that needs an encoding.

The encoder's forward pass is the evaluation's dominant cost on a CPU. One `TextEmbeddings` per batch of
rows holds, for every distinct reply and reference:

- the normalised sentence embedding (cosine similarity, the factor scorer, the mechanism scorers), and
- optionally the last layer's token states (BERTScore on the same encoder: bert_score's greedy matching,
  tide.evaluate.reference.bertscore_from_embeddings), which are exactly what bert_score computes itself
  for that encoder and layer (same tokenizer and weights; a test checks the values). The sentence encoder
  truncates at 256 tokens and bert_score at 512, so pairs with a text that long go to bert_score's own
  pass instead.
"""

from __future__ import annotations

import numpy as np
import torch


class TextEmbeddings:
    """Distinct texts encoded once; rows are looked up by text."""

    def __init__(self, encoder, texts: list[str], batch_size: int = 64, tokens: bool = False):
        self.texts = list(dict.fromkeys(texts))
        self.position = {text: i for i, text in enumerate(self.texts)}
        self.token_states: list[torch.Tensor] | None = None
        self.max_tokens = getattr(encoder, "max_seq_length", None)
        if not self.texts:
            self.sentences = torch.zeros((0, encoder.get_sentence_embedding_dimension()))
            self.token_states = [] if tokens else None
            return
        if tokens:
            outputs = encoder.encode(self.texts, batch_size=batch_size, output_value=None, show_progress_bar=False)
            self.sentences = torch.nn.functional.normalize(
                torch.stack([o["sentence_embedding"] for o in outputs]).float(), dim=-1)
            # The real tokens only (bert_score drops the padding the same way).
            self.token_states = [o["token_embeddings"][: int(o["attention_mask"].sum())].float() for o in outputs]
        else:
            self.sentences = encoder.encode(self.texts, batch_size=batch_size, convert_to_tensor=True,
                                            normalize_embeddings=True, show_progress_bar=False).float()

    def rows(self, texts: list[str]) -> torch.Tensor:
        """The normalised sentence embedding of each text (texts must have been encoded)."""
        return self.sentences[[self.position[t] for t in texts]]

    def numpy_rows(self, texts: list[str]) -> np.ndarray:
        return self.rows(texts).cpu().numpy()

    def truncated(self, text: str) -> bool:
        """The encoder may have cut this text (it filled max_seq_length tokens); bert_score, which
        truncates later (the tokenizer's 512), needs its own pass for it."""
        return self.max_tokens is not None and len(self.tokens(text)) >= self.max_tokens

    def tokens(self, text: str) -> torch.Tensor:
        if self.token_states is None:
            raise ValueError("these embeddings were computed without token states (tokens=False)")
        return self.token_states[self.position[text]]
