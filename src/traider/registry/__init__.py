"""The model registry: the MLflow tracking server, the gate that promotes models, and rollback.

Interface with the training side (`traider.ml`) — what a registered version must carry
-------------------------------------------------------------------------------------
The gate reads the MLflow *run* of each registered model version (`ModelVersion.run_id`):

- metrics: `oos_sharpe` (annualised out-of-sample Sharpe), `oos_max_drawdown` (a positive fraction,
  0.04 = 4 %), `dsr_probability` (deflated-Sharpe probability in [0, 1]);
- tags (or params): `lookahead_clean` (`"true"`/`"false"`), `oos_start` and `oos_end` (ISO times of the
  stitched out-of-sample window; without a timezone they are taken as UTC), `spec` (the spec's name),
  and the spec's thresholds `gate.min_sharpe`, `gate.max_drawdown`, `gate.min_dsr_probability`
  (defaults 1.5, 0.05 and 0.95 when absent).

A missing, non-finite or unreadable value fails its check: the version is rejected with a reason.

Decisions (`traider.registry.gate.decide`, pure)
------------------------------------------------
- `promote`: every absolute check passes and the candidate's `oos_sharpe` is higher than the champion's
  Sharpe on the same window (or no version holds `production`). The version takes the alias
  `production`; the version that held it is recorded as the previous champion.
- `challenger`: every absolute check passes but the candidate does not beat the champion, or the
  champion cannot be evaluated on that window. The version takes the alias `challenger`.
- `reject`: any absolute check fails. No alias.

The reasons, one line per check (`oos_sharpe 0.42 < 1.5`), go to the version's tags (`gate.decision`,
`gate.reasons` — newline-separated —, `gate.decided_at`, and `gate.previous_champion` on promotion), to
`ops.model_decisions` and to the audit chain (`model.gate`, subject `models:/<name>/<version>`), in one
transaction with the alias move (`traider.registry.aliases`).

The champion's Sharpe on the candidate's window comes from a `ChampionEvaluator`
(`traider.registry.evaluation`), injected by the caller::

    class ChampionEvaluator(Protocol):
        def evaluate(self, model_uri: str, start: datetime, end: datetime) -> float: ...

`model_uri` is `models:/<name>/<version>`; an exception means "cannot evaluate" (challenger, never
promote). `RunMetricEvaluator(client)` reads the champion run's own `oos_sharpe` when its recorded
window equals the candidate's. The gate DAG uses `traider.ml.evaluation.champion_evaluator(tracking_uri)
-> ChampionEvaluator` when that module exists, `RunMetricEvaluator` otherwise.

Entry points
------------
- `aliases.apply_gate(client, engine, name, version, evaluator, *, actor="traider-gate") -> DecisionRecord`
  gates one version (once: a second call returns the stored decision);
- `pipeline.pending_candidates(models)` / `pipeline.gate_candidate(name, version)`: the same, configured
  from the environment, for the gate DAG;
- `aliases.promote(client, engine, name, version, *, reason, actor, force=False)` and
  `aliases.rollback(client, engine, name, *, reason, actor)`: manual moves of `production`, recorded with
  actor and reason; rollback follows `ops.model_decisions` back to the previous champion;
- `status.model_status(client, engine, names)`; `server.start(config)` / `server.stop(home)`.
"""
