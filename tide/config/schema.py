"""The typed config slices: one frozen dataclass per Hydra config group (conf/<group>/*.yaml).

The field names are the YAML keys, so `plain(slice)` gives back the dict the YAML composed (stage
fingerprints and artifact keys made from it stay the same). The defaults live in conf/ and nowhere
else: every field is required, and `tide.config.load.build_config` builds them all once, at the launch
boundary, from the composed config. A bound or a choice sits beside its field and is checked then.
Library functions take the slices they need (`ModelConfig`, `TrainConfig`, ...), never the whole tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tide.config.fields import option
from tide.core.domain import CONDITIONS, REFERENCE_METRICS

# ---- data -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticConfig:
    n_personas: int = option(ge=1)
    conversations_per_persona: int = option(ge=1)
    seed: int
    layout: str = option(choices=("nested", "flat"))
    self_harm_rate: float = option(ge=0.0, le=1.0)


@dataclass(frozen=True)
class HubConfig:
    repo_id: str
    revision: str
    token_env: str | None    # the NAME of the variable holding the token, never the token
    cache_dir: str


@dataclass(frozen=True)
class SplitConfig:
    train: float = option(ge=0.0, le=1.0)
    val: float = option(ge=0.0, le=1.0)
    test: float = option(ge=0.0, le=1.0)
    seed: int
    stratify_on: tuple[str, ...]

    def __post_init__(self):
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"test: train + val + test must sum to 1, got {total:g}")


@dataclass(frozen=True)
class DataConfig:
    source: str = option(choices=("synthetic", "tide"))
    dir: str | None
    synthetic: SyntheticConfig | None
    hub: HubConfig | None
    lenient: bool
    split: SplitConfig
    name: str
    artifact_dir: str


# ---- model ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GGUFWheelConfig:
    distribution: str
    package: str
    file: str


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = option(ge=16)
    min_frequency: int = option(ge=1)


@dataclass(frozen=True)
class ModelConfig:
    name: str
    hf_id: str | None
    path: str | None
    gguf_file: str | None
    gguf_wheel: GGUFWheelConfig | None
    convert_dir: str
    source: str | None
    params_b: float = option(gt=0)
    stop_token: str | None
    lora_target_modules: tuple[str, ...]
    architecture: dict[str, Any]        # config.json dimensions, passed to transformers as they are
    tokenizer: TokenizerConfig | None   # set: a tiny model whose tokenizer is trained on the data


# ---- train ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoraConfig:
    r: int = option(ge=1)
    alpha: float = option(gt=0)
    dropout: float = option(ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = option(check=lambda value: None if value else "is empty: name the layers LoRA adapts")


@dataclass(frozen=True)
class WatchdogConfig:
    divergence_factor: float = option(gt=1.0)
    patience: int = option(ge=1)


@dataclass(frozen=True)
class TrainConfig:
    method: str = option(choices=("lora", "qlora", "full"))
    lora: LoraConfig | None
    quantize_4bit: bool
    learning_rate: float = option(gt=0)
    weight_decay: float = option(ge=0)
    epochs: float = option(ge=0)
    # > 0 stops early (counts optimizer steps); -1: the epochs decide. 0 once meant "no limit" by accident
    # and trained a whole epoch, so it is refused.
    max_steps: int = option(check=lambda steps: None if steps == -1 or steps > 0
                            else f"must be > 0 (optimizer steps) or -1 (the epochs decide), got {steps}")
    per_device_batch_size: int = option(ge=1)
    gradient_accumulation_steps: int = option(ge=1)
    warmup_ratio: float = option(ge=0.0, lt=1.0)
    lr_scheduler: str
    max_grad_norm: float = option(gt=0)
    eval_every_steps: int = option(ge=1)
    eval_max_batches: int | None = option(ge=1)
    save_every_steps: int = option(ge=1)
    save_first_step: bool
    keep_last_checkpoints: int = option(ge=1)
    resume: bool
    merge: bool
    group_by_length: bool
    precision: str = option(choices=("auto", "bf16", "fp32"))
    log_every_steps: int = option(ge=1)
    watchdog: WatchdogConfig
    inject_failure_at_step: int | None = option(ge=1)   # testing only

    def __post_init__(self):
        if self.method != "full" and self.lora is None:
            raise ValueError(f"lora: method={self.method} needs the LoRA options")
        if self.max_steps == -1 and self.epochs < 1:
            raise ValueError(f"epochs: {self.epochs:g} with max_steps={self.max_steps}: nothing to train")


@dataclass(frozen=True)
class DeepSpeedConfig:
    stage: int = option(choices=(0, 1, 2, 3))
    offload_optimizer: bool
    offload_param: bool
    config_overrides: dict[str, Any]     # any other DeepSpeed keys, checked by DeepSpeed itself

    def __post_init__(self):
        if self.offload_param and self.stage != 3:
            raise ValueError("offload_param: needs stage=3")
        if self.offload_optimizer and self.stage < 1:
            raise ValueError("offload_optimizer: needs a ZeRO stage >= 1")
        if self.stage == 0 and self.config_overrides:
            raise ValueError("config_overrides: set but stage=0 (no DeepSpeed)")


# ---- generate ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VLLMConfig:
    max_concurrent_batches: int = option(ge=1)
    accelerator_type: str | None
    engine_kwargs: dict[str, Any]


@dataclass(frozen=True)
class SamplingConfig:
    do_sample: bool
    temperature: float = option(gt=0)
    top_p: float = option(gt=0, le=1)
    max_new_tokens: int = option(ge=1)
    seed: int


@dataclass(frozen=True)
class GenerateConfig:
    backend: str = option(choices=("hf", "vllm"))
    split: str = option(choices=("train", "val", "test"))
    conditions: tuple[str, ...] = option(choices=CONDITIONS)
    limit: int | None = option(ge=1)
    adapter_dir: str | None
    merged_dir: str | None
    output_dir: str
    batch_size: int = option(ge=1)
    shard_rows: int = option(ge=1)
    concurrency: int = option(ge=1)
    cpus_per_actor: float = option(gt=0)
    gpus_per_actor: float = option(ge=0)
    precision: str = option(choices=("auto", "float32", "bfloat16", "float16"))
    max_failures: int = option(ge=0)
    gpu_memory_utilization: float | None = option(gt=0, le=1)
    vllm: VLLMConfig
    sampling: SamplingConfig

    def __post_init__(self):
        if not self.conditions or len(set(self.conditions)) != len(self.conditions):
            raise ValueError(f"conditions: name distinct conditions from {list(CONDITIONS)}, got {list(self.conditions)}")


# ---- eval -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BertScoreConfig:
    model: str | None
    num_layers: int | None = option(ge=1)


@dataclass(frozen=True)
class JudgeConfig:
    model: str | None                 # a preset in conf/model; null = no judge
    model_cfg: ModelConfig | None     # that preset, composed by the launcher
    limit: int | None = option(ge=1)
    max_retries: int = option(ge=0)
    max_new_tokens: int = option(ge=1)
    temperature: float = option(gt=0)
    seed: int


@dataclass(frozen=True)
class EvalConfig:
    metrics: tuple[str, ...] = option(choices=REFERENCE_METRICS)
    primary_metric: str
    embedder: str | None
    bertscore: BertScoreConfig
    factors: bool
    factor_threshold: float = option(ge=0, le=1)
    mechanisms: bool
    safety: bool
    generations_dir: str
    references_split: str = option(choices=("train", "val", "test"))
    output_dir: str
    batch_size: int = option(ge=1)
    shard_rows: int = option(ge=1)
    concurrency: int = option(ge=1)
    cpus_per_actor: float = option(gt=0)
    bootstrap_samples: int = option(ge=1)
    alpha: float = option(gt=0, lt=1)
    seed: int
    ratings: str | None
    ratings_scale: int = option(ge=2)
    sample_table_rows: int = option(ge=0)
    judge: JudgeConfig


# ---- where and how it runs --------------------------------------------------------------------------


def _slurm_time(value: str) -> str | None:
    # Slurm's own --time formats, checked here so a typo fails before sbatch sees it.
    forms = r"\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2}"
    return None if re.fullmatch(forms, str(value)) else (
        f"expected Slurm's time format (minutes, HH:MM:SS, D-HH:MM:SS), got {value!r}")


@dataclass(frozen=True)
class SlurmConfig:
    """One sbatch job that starts Ray on its nodes and runs the sweep's driver there (docs/sweeps.md)."""
    partition: str | None               # null: the cluster's default partition
    nodes: int = option(ge=1)
    cpus_per_node: int = option(ge=1)
    gpus_per_node: int = option(ge=0)
    time_limit: str | int = option(check=_slurm_time)   # an int is minutes, as Slurm reads it
    account: str | None
    job_name: str
    extra_sbatch: tuple[str, ...]       # more `#SBATCH` lines, e.g. "--mem=0" or "--constraint=a100"
    modules: tuple[str, ...]            # `module load` each, before the environment is activated
    venv: str | None                    # a virtualenv to activate; null: the one running this command
    storage: str                        # shared storage every node mounts: results, W&B runs, Tune state
    node_resources: dict[str, float] | None   # extra Ray resources on every node, e.g. {trial_slot: 1}
    join_timeout_s: float = option(gt=0)


@dataclass(frozen=True)
class ClusterConfig:
    address: str | None
    num_workers: int = option(ge=1)
    use_gpu: bool
    cpus_per_worker: float = option(gt=0)
    gpus_per_worker: float = option(ge=0)
    storage_path: str | None
    max_failures: int = option(ge=0)
    trial_resources: dict[str, float] | None
    # ray: Ray Train workers (the suite's way everywhere); bare: the same loop in this one process, no Ray
    # (a GPU machine without Ray, and the benchmark of what Ray Train adds: tide/train/bare.py).
    runner: str = option(choices=("ray", "bare"), default="ray")
    slurm: SlurmConfig | None = option(default=None)   # cluster=slurm: submit the sweep as an sbatch job

    def __post_init__(self):
        if self.runner == "bare" and self.num_workers != 1:
            raise ValueError(f"num_workers: cluster.runner=bare runs one process, got {self.num_workers}")


@dataclass(frozen=True)
class LoggerConfig:
    name: str = option(choices=("wandb", "none"))
    mode: str = option(choices=("offline", "online", "disabled"))
    project: str | None
    entity: str | None
    group: str | None
    dir: str | None


@dataclass(frozen=True)
class PromptConfig:
    system: str
    max_length: int = option(ge=8)


@dataclass(frozen=True)
class RunConfig:
    name: str
    dir: str


@dataclass(frozen=True)
class PipelineConfig:
    condition: str = option(choices=CONDITIONS)
    force: bool


@dataclass(frozen=True)
class ReportConfig:
    runs: tuple[str, ...]
    out_dir: str
    primary_metric: str
    bootstrap_samples: int = option(ge=1)
    human_study: tuple[str, ...]  # analyses written by `launch.study analyse --json` (the Human evaluation)


@dataclass(frozen=True)
class PathsConfig:
    outputs: str


@dataclass(frozen=True)
class RuntimeConfig:
    offline: bool
    ray_usage_stats: bool


# ---- study ------------------------------------------------------------------------------------------

# Columns every saved response file has, and the names the import spec keeps for itself (tide/study/spec.py):
# a scale or demographic of the same name would collide with them.
STUDY_RESERVED_COLUMNS = ("participant_id", "item_id", "position", "duration_seconds", "participant", "item",
                          "kind", "expected", "duration", "source_file", "source_row")


def _column_name(value: str) -> str | None:
    if not value.isidentifier() or value in STUDY_RESERVED_COLUMNS:
        return f"must be an identifier (a CSV column) other than {list(STUDY_RESERVED_COLUMNS)}, got {value!r}"
    return None


@dataclass(frozen=True)
class StudyScaleConfig:
    name: str = option(check=_column_name)
    question: str
    min: int
    max: int
    low: str                  # what the lowest point means
    high: str                 # what the highest point means

    def __post_init__(self):
        if self.max <= self.min:
            raise ValueError(f"max: must be > min ({self.min}), got {self.max}")


@dataclass(frozen=True)
class StudyDemographicConfig:
    name: str = option(check=_column_name)
    question: str
    type: str = option(choices=("numeric", "categorical"))
    choices: tuple[str, ...]
    min: float | None
    max: float | None

    def __post_init__(self):
        if self.type == "categorical" and not self.choices:
            raise ValueError("choices: a categorical question needs its choices")
        if self.type == "numeric" and self.choices:
            raise ValueError("choices: a numeric question has none (set type: categorical)")


@dataclass(frozen=True)
class StudyAttentionConfig:
    instructed: int = option(ge=0)        # instructed-response items per participant
    instructed_value: int
    instructed_text: str = option(check=lambda text: None if "{value}" in text else "must hold {value}")
    gold: int = option(ge=0)              # gold items (a plainly dismissive reply) per participant
    gold_replies: tuple[str, ...]
    gold_scale: str
    gold_max: int

    def __post_init__(self):
        if self.gold > len(self.gold_replies):
            raise ValueError(f"gold: {self.gold} gold items need as many gold_replies, got {len(self.gold_replies)}")


@dataclass(frozen=True)
class StudyConfig:
    name: str
    seed: int
    raters: int = option(ge=1)
    ratings_per_item: int = option(ge=1)
    dialogues_per_scenario: int = option(ge=1)
    scenarios: tuple[str, ...] | None     # null: every scenario the runs share
    reference: bool
    consent: str
    instructions: str
    scales: tuple[StudyScaleConfig, ...]
    demographics: tuple[StudyDemographicConfig, ...]
    attention: StudyAttentionConfig

    def __post_init__(self):
        if self.ratings_per_item > self.raters:
            raise ValueError(f"ratings_per_item: {self.ratings_per_item} ratings need as many raters, "
                             f"got raters={self.raters}")
        if not self.scales:
            raise ValueError("scales: name at least one rating scale")
        names = [s.name for s in self.scales] + [d.name for d in self.demographics]
        if len(set(names)) != len(names):
            raise ValueError(f"scales: scale and demographic names must be distinct, got {names}")
        self._check_attention({s.name: s for s in self.scales})

    def _check_attention(self, scales: dict) -> None:
        attention = self.attention
        if attention.instructed and not all(s.min <= attention.instructed_value <= s.max for s in scales.values()):
            raise ValueError(f"attention.instructed_value: {attention.instructed_value} is outside a scale's range")
        if not attention.gold:
            return
        scale = scales.get(attention.gold_scale)
        if scale is None:
            raise ValueError(f"attention.gold_scale: {attention.gold_scale!r} is not a scale (known: {list(scales)})")
        if not scale.min <= attention.gold_max < scale.max:
            raise ValueError(f"attention.gold_max: must lie in [{scale.min}, {scale.max}) of {scale.name}, "
                             f"got {attention.gold_max}")


@dataclass(frozen=True)
class TideConfig:
    """The whole composed config, typed. Only launchers and the stage objects hold it; they hand each
    library function the slices it needs."""
    paths: PathsConfig
    runtime: RuntimeConfig
    seed: int
    cluster: ClusterConfig
    logger: LoggerConfig
    data: DataConfig
    model: ModelConfig
    prompt: PromptConfig
    train: TrainConfig
    deepspeed: DeepSpeedConfig
    pipeline: PipelineConfig
    run: RunConfig
    generate: GenerateConfig
    eval: EvalConfig
    report: ReportConfig
    study: StudyConfig
