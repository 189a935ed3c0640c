"""The offline sweep (the embedded default): the spec's search on Ray Tune, one trial per configuration.

Each trial runs the trial function (default: the whole pipeline in a subprocess) with the trial's
overrides plus `run.dir=<sweep_dir>/trials/<key>`, `run.name=<sweep>-<key>` and `logger.group=<sweep>`,
so its W&B run is grouped under the sweep and its outputs land in its own directory. Finished trials
go into the results table at once; a rerun replays them from the table instead of running them again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from tide.sweep.overrides import hydra_value, runner_options, to_overrides, trial_directory
from tide.sweep.plan import Plan
from tide.sweep.results import ResultsTable, trial_key
from tide.sweep.space import tune_scheduler, tune_search_space, tune_searcher
from tide.sweep.spec import SweepSpec

# Bookkeeping in a trial's reported results, next to its metrics (Tune adds its own fields too).
TRIAL_KEY, TRIAL_DONE, REPLAYED, METRIC_NAMES = "trial_key", "trial_done", "replayed", "metric_names"
TRIAL_ERROR = "trial_error"


@dataclass(frozen=True)
class TrialContext:
    """What every trial needs besides its sampled parameters (sent to the Ray workers once)."""
    sweep: str
    keys: tuple[str, ...]
    fixed_overrides: tuple[str, ...]
    sweep_dir: str
    trial_fn: str
    finished: dict  # trial key -> metrics of trials finished in an earlier run


def trial_overrides(context: TrialContext, params: dict, key: str) -> list[str]:
    options = runner_options(context.sweep, context.sweep_dir, key)
    return [*context.fixed_overrides, *to_overrides(params), f"run.dir={hydra_value(options['run.dir'])}",
            f"run.name={options['run.name']}", f"logger.group={options['logger.group']}"]


def run_trial(config: dict, context: TrialContext) -> None:
    """The Tune trainable: one trial, inside a Ray worker."""
    from ray import tune

    from tide.sweep.trial import load_trial_fn

    params = {key: config[key] for key in context.keys}
    key = trial_key(params)

    def report(metrics: dict, **flags) -> None:
        tune.report({**metrics, TRIAL_KEY: key, METRIC_NAMES: sorted(metrics), **flags})

    if key in context.finished:
        report(context.finished[key], **{TRIAL_DONE: True, REPLAYED: True})
        return
    run_dir = trial_directory(context.sweep_dir, key)
    run_dir.mkdir(parents=True, exist_ok=True)
    trial_fn = load_trial_fn(context.trial_fn)
    try:
        metrics = trial_fn(trial_overrides(context, params, key), run_dir, report)
    except Exception as error:  # the message goes into the results table; Tune records the traceback
        report({}, **{TRIAL_ERROR: f"{type(error).__name__}: {error}"[-2000:]})
        raise
    report(metrics, **{TRIAL_DONE: True})


def _ledger_callback(table: ResultsTable, context: TrialContext, total: int, early_stopped: set):
    from ray import tune

    class LedgerCallback(tune.Callback):
        """Writes a row as each trial ends (driver side), and one for each trial an interrupt stopped."""

        def __init__(self):
            self.started: dict[str, float] = {}
            self.ended_ids: set[str] = set()

        def on_trial_start(self, iteration, trials, trial, **info):
            self.started[trial.trial_id] = time.time()

        def on_trial_complete(self, iteration, trials, trial, **info):
            result = trial.last_result or {}
            if result.get(REPLAYED):
                self.ended_ids.add(trial.trial_id)
                self._print(result[TRIAL_KEY], "replayed from the results table", result)
                return
            if result.get(TRIAL_DONE):
                status = "completed"
            else:  # stopped before its end: by early termination, or by an interrupt (runs again on resume)
                status = "early_stopped" if trial.trial_id in early_stopped else "interrupted"
            self._record(trial, status, result, error=None)

        def on_trial_error(self, iteration, trials, trial, **info):
            result = trial.last_result or {}
            message = result.get(TRIAL_ERROR) or f"the trial's process failed; see {trial.error_file}"
            self._record(trial, "error", result, error=message)

        def on_experiment_end(self, trials, **info):
            """Ctrl-C (SIGINT) ends the run without completing the running trials: they are `interrupted`
            in the table (and run again on resume), not missing from it."""
            for trial in trials:
                if trial.trial_id in self.started and trial.trial_id not in self.ended_ids:
                    self._record(trial, "interrupted", trial.last_result or {}, error=None)

        def _record(self, trial, status: str, result: dict, error: str | None):
            self.ended_ids.add(trial.trial_id)
            params = {key: trial.config[key] for key in context.keys}
            key = trial_key(params)
            metrics = {k: _plain(result[k]) for k in result.get(METRIC_NAMES, ())}
            table.record({
                "trial": key, "status": status, **{k: _plain(v) for k, v in params.items()}, **metrics,
                "overrides": " ".join(to_overrides(params)),
                "run_dir": str(trial_directory(context.sweep_dir, key)),
                "duration_s": round(time.time() - self.started.get(trial.trial_id, time.time()), 1),
                "error": error,
            })
            self._print(key, status, metrics)

        def _print(self, key: str, status: str, metrics: dict):
            value = metrics.get(table.metric)
            shown = f" {table.metric}={value:.4g}" if isinstance(value, (int, float)) else ""
            print(f"[sweep {context.sweep}] {len(self.ended_ids)}/{total} trial {key} {status}{shown}", flush=True)

    return LedgerCallback()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def run_offline(spec: SweepSpec, plan: Plan, fixed_overrides: list[str], sweep_dir: Path, storage_path: str,
                trial_fn: str, seed: int = 0):
    """Run the sweep on the Ray cluster this process is connected to (or a local one); returns the table."""
    import ray
    from ray import tune
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    # Intermediate reports (training curves) need not carry the sweep's final metric. Tune's JSON and
    # CSV result files are kept (Tune reads them back); TensorBoard files are not (the table replaces them).
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        # A local Ray starts faster without its dashboard (seconds on a small machine).
        ray.init(address=address, log_to_driver=False, **({} if address else {"include_dashboard": False}))
    table = ResultsTable(sweep_dir, spec.keys, spec.metric, spec.goal)
    finished = {key: table.metrics_of(row) for key in table.rows if (row := table.finished(key))}
    context = TrialContext(sweep=spec.name, keys=tuple(spec.keys), fixed_overrides=tuple(fixed_overrides),
                           sweep_dir=str(sweep_dir), trial_fn=trial_fn, finished=finished)
    if finished:
        print(f"[sweep {spec.name}] resuming: {len(finished)} finished trial(s) in {sweep_dir}", flush=True)

    early_stopped: set[str] = set()
    trainable = tune.with_resources(tune.with_parameters(run_trial, context=context),
                                   plan.resources.driver_reservation())
    tuner = tune.Tuner(
        trainable,
        param_space=tune_search_space(spec),
        tune_config=tune.TuneConfig(
            metric=spec.metric, mode=spec.mode, search_alg=tune_searcher(spec, seed, plan.concurrent),
            scheduler=tune_scheduler(spec, early_stopped), num_samples=1 if spec.method == "grid" else spec.run_cap,
            reuse_actors=True),
        run_config=tune.RunConfig(name=spec.name, storage_path=storage_path, verbose=0,
                                  callbacks=[_ledger_callback(table, context, plan.num_trials, early_stopped),
                                                            JsonLoggerCallback(), CSVLoggerCallback()]),
    )
    tuner.fit()
    table.write()
    return table.dataframe()
