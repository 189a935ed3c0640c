"""One encoder pass gives the sentence embedding, the token states and pooled hidden layers, each equal
to what the libraries compute on their own."""

import numpy as np
import pytest
import torch

from tide.evaluate.embedding import TextEmbeddings
from tide.evaluate.reference import load_encoder

TEXTS = ["I'm so sorry, that sounds exhausting.", "ok", "What happened after the accident? " * 6,
         "It makes sense that you feel on edge.", "ok"]


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(None)


@pytest.fixture(scope="module")
def embedded(encoder):
    return TextEmbeddings(encoder, TEXTS, batch_size=2, tokens=True, layers=(3, 6))


def test_sentence_embeddings_equal_sentence_transformers(encoder, embedded):
    expected = encoder.encode(TEXTS, convert_to_tensor=True, normalize_embeddings=True)
    assert torch.allclose(embedded.rows(TEXTS), expected, atol=1e-5)
    assert len(embedded.texts) == 4  # "ok" twice, encoded once


def test_pooled_layers_and_tokens_equal_the_transformer_run_alone(encoder, embedded):
    for text in TEXTS:
        tokens = encoder.tokenizer(text, return_tensors="pt", truncation=True, max_length=encoder.max_seq_length)
        with torch.inference_mode():
            hidden = encoder[0].auto_model(**tokens, output_hidden_states=True).hidden_states
        expected = np.concatenate([hidden[3][0].mean(0).numpy(), hidden[6][0].mean(0).numpy()])
        assert np.allclose(embedded.layer_rows([text])[0], expected, atol=1e-5), text
        assert torch.allclose(embedded.tokens(text), hidden[6][0], atol=1e-5), text
    # the encoder is shared with other scorers: it must not go on returning every layer
    assert not encoder[0].auto_model.config.output_hidden_states


def test_missing_parts_are_named(encoder):
    plain = TextEmbeddings(encoder, TEXTS[:2])
    with pytest.raises(ValueError, match="layers=()"):
        plain.layer_rows(TEXTS[:1])
    with pytest.raises(ValueError, match="tokens=False"):
        plain.tokens(TEXTS[0])
    assert TextEmbeddings(encoder, []).rows([]).shape == (0, 384)
