"""A sweep spec as a Ray Tune search: search space, searcher and scheduler.

The mapping keeps W&B's meaning: int_uniform includes max (Tune's randint excludes its upper bound),
log_uniform's bounds are natural-log exponents, a grid is the cartesian product of its parameters,
bayes is a Bayesian searcher (Optuna's TPE), hyperband early termination is ASHA on reported iterations.
"""

from __future__ import annotations

import math

from tide.sweep.spec import Parameter, SweepSpec

# ASHA needs a horizon; W&B's hyperband has none unless max_iter is given.
DEFAULT_MAX_ITER = 100


def tune_domain(parameter: Parameter, grid: bool = False):
    from ray import tune

    kind = parameter.distribution
    if kind == "constant":
        return parameter.value
    if grid:
        return tune.grid_search(parameter.choices())
    if kind == "categorical":
        return tune.choice(list(parameter.values))
    if kind == "int_uniform":
        return tune.randint(int(parameter.min), int(parameter.max) + 1)
    if kind == "uniform":
        return tune.uniform(parameter.min, parameter.max)
    if kind == "q_uniform":
        return tune.quniform(parameter.min, parameter.max, parameter.q)
    if kind == "log_uniform":
        return tune.loguniform(math.exp(parameter.min), math.exp(parameter.max))
    if kind == "log_uniform_values":
        return tune.loguniform(parameter.min, parameter.max)
    if kind == "q_log_uniform_values":
        return tune.qloguniform(parameter.min, parameter.max, parameter.q)
    if kind == "normal":
        return tune.randn(parameter.mu, parameter.sigma)
    raise ValueError(f"no Tune domain for distribution {kind!r}")


def tune_search_space(spec: SweepSpec) -> dict:
    grid = spec.method == "grid"
    return {p.key: tune_domain(p, grid=grid) for p in spec.parameters}


def tune_searcher(spec: SweepSpec, seed: int, max_concurrent: int):
    """The search algorithm: Tune's variant generator for grid/random, Optuna for bayes."""
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if spec.method == "bayes":
        from ray.tune.search.optuna import OptunaSearch

        class FinalMetricOptuna(OptunaSearch):
            """Optuna fed only the reports that carry the sweep metric (training curves do not)."""

            def on_trial_result(self, trial_id, result):
                if self.metric in result:
                    super().on_trial_result(trial_id, result)

        return ConcurrencyLimiter(FinalMetricOptuna(seed=seed), max_concurrent=max_concurrent)
    return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent)


def tune_scheduler(spec: SweepSpec, stopped: set | None = None):
    """ASHA for hyperband early termination (None runs every trial to the end). The ids of the trials
    it stops go into `stopped`, so the results table can tell them from trials an interrupt ended."""
    if spec.early_terminate is None:
        return None
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    class EarlyTermination(ASHAScheduler):
        def on_trial_result(self, tune_controller, trial, result):
            decision = super().on_trial_result(tune_controller, trial, result)
            if decision == TrialScheduler.STOP and stopped is not None:
                stopped.add(trial.trial_id)
            return decision

    terms = spec.early_terminate
    return EarlyTermination(time_attr="training_iteration", grace_period=terms["min_iter"],
                            reduction_factor=terms["eta"], max_t=terms["max_iter"] or DEFAULT_MAX_ITER)
