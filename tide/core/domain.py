"""The study's constants, in one place: what the conditions and factors are called, and the names of the
files stages write. Both the synthetic generator and the evaluation read them from here (the evaluation
never imports the generator); the crisis-referral patterns they share are in tide.core.crisis.
"""

from __future__ import annotations

# The paper's two conditions: the base model as it is, and after fine-tuning on TIDE.
ZERO_SHOT, FINETUNED = "zero_shot", "finetuned"
CONDITIONS = (ZERO_SHOT, FINETUNED)

# Reference-based metrics the evaluation computes (tide/evaluate/reference.py), as eval.metrics names them.
REFERENCE_METRICS = ("cosine", "bertscore", "rouge_l", "bleu", "chrf", "meteor", "distinct", "length_ratio")

# The paper's three-factor empathy model.
FACTORS = ("emotion_recognition", "distress_normalization", "supportive_reflection")

# Output files and directories, by the stage that writes them.
MANIFEST_FILE = "manifest.json"              # data: <artifact_dir>/manifest.json
DATA_SUMMARY_FILE = "summary.json"           # data: <artifact_dir>/summary.json (what `make data` prints)
ADAPTER_DIR = "adapter"                      # train: <run.dir>/adapter
MERGED_DIR = "merged"                        # train: <run.dir>/merged
TRAIN_SUMMARY_FILE = "train_summary.json"    # train: <run.dir>/train_summary.json
PROGRESS_FILE = "progress.jsonl"             # train: validations relayed while it runs
EVAL_SUMMARY_FILE = "summary.json"           # evaluate: <eval.output_dir>/summary.json
METRICS_FILE = "metrics.parquet"             # evaluate: one row per reply
SAFETY_FLAGS_FILE = "safety_flags.csv"       # evaluate: every safety flag, for a clinician to read
STAGE_RECORD_DIR = "stages"                  # <run.dir>/stages/<stage>.json: what each stage did
PIPELINE_FILE = "pipeline.json"              # <run.dir>/pipeline.json: the pipeline's own summary
BENCH_THROUGHPUT_FILE = "bench/throughput.json"  # make bench on a GPU: <paths.outputs>/bench/throughput.json,
                                                # single-GPU tokens/s per model (the sweep planner reads it)
