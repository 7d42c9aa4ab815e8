"""One typed configuration object that carries every knob of the pipeline.

Every field has a default that holds up on monthly, quarterly and yearly series of
100-1,000 points, so ``PipelineConfig()`` is a complete, runnable configuration.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from lstm_model.redact import redact

# Fewest training windows worth fitting an LSTM on: validation's row minimum, the window cut
# and every walk-forward fold check it.
MIN_TRAIN_WINDOWS = 16


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    """Where the series lives and how it is checked before anything is fitted."""

    time_column: str = "timestamp"
    target: str = "value"
    min_rows: int = Field(
        40, ge=10, description="Fewest rows; validation also needs enough for max_lookback."
    )
    exogenous: tuple[str, ...] = Field(
        (), description="Extra numeric columns carried as features, checked like the target."
    )
    extra_suites: tuple[Path, ...] = Field(
        (), description="GX suite JSON files applied in addition to expectations/base_suite.json."
    )
    # Ingestion policies: what happens to messy rows. Every repair is listed in the run's
    # ingestion report; the defaults reject rather than invent or drop data.
    duplicates: Literal["fail", "keep_last", "mean"] = "fail"
    gaps: Literal["fail", "interpolate", "resample"] = Field(
        "fail", description="Missing steps or values: reject, fill linearly, or regrid + fill."
    )
    max_gap: int = Field(3, ge=1, description="Longest run of steps interpolate/resample fills.")
    frequency: str | None = Field(
        None, description="Pandas alias ('D', 'MS'...) for gaps='resample'; None: inferred."
    )
    time_format: str | None = Field(
        None,
        description="strptime layout of the timestamps, e.g. '%d/%m/%Y'; None: ISO 8601, "
        "epoch seconds, years, or day/month dates whose order the file decides.",
    )
    max_rows: int = Field(
        200_000,
        ge=10,
        description="Longest series accepted; longer files are refused before loading "
        "(aggregate or resample them), which bounds memory and time.",
    )
    outliers: Literal["warn", "fail"] = "warn"
    outlier_threshold: float = Field(
        8.0, gt=0.0, description="Robust z-score (median/MAD) beyond which a value is absurd."
    )
    implausible_threshold: float = Field(
        10_000.0,
        gt=0.0,
        description="Robust z-score beyond which a value is refused whatever 'outliers' says "
        "(a unit or typing error such as 1e12 in a series of tens); a model trained on it "
        "would be meaningless.",
    )
    series_column: str | None = Field(
        None,
        description="Series id column of a long-format panel (one row per series and "
        "timestamp): one global model is trained across all series. None: one series.",
    )
    bad_series: Literal["fail", "skip"] = Field(
        "fail",
        description="A panel series that fails its checks stops the run (fail), or is left "
        "out and reported by id (skip).",
    )


class SplitConfig(_Section):
    """Chronological split: train | validation | test, never shuffled."""

    validation_fraction: float = Field(0.15, gt=0.0, lt=0.5)
    test_fraction: float = Field(0.15, gt=0.0, lt=0.5)


class AnalysisConfig(_Section):
    """Statistical tests that decide differencing, season and lookback."""

    alpha: float = Field(0.05, gt=0.0, lt=0.5, description="Significance level of ADF/KPSS/ACF.")
    max_differencing: int = Field(2, ge=0, le=2)
    min_lookback: int = Field(3, ge=1)
    max_lookback: int = Field(36, ge=1)
    max_lags: int = Field(48, ge=4, description="Most lags examined by ACF/PACF.")
    max_statistics_points: int = Field(
        10_000,
        ge=100,
        description="The tests (ADF/KPSS lag search, STL, ACF/PACF, Guerrero) read at most "
        "this many of the most recent training points, so their memory and time are bounded.",
    )
    max_seasonal_differencing: int = Field(
        1, ge=0, le=1, description="1 lets a strong season (STL F_s) be differenced away."
    )
    seasonal_strength_threshold: float = Field(
        0.64, gt=0.0, lt=1.0, description="STL seasonal strength F_s above which D=1 (Hyndman)."
    )
    box_cox: Literal["auto", "off"] = Field(
        "auto",
        description="auto: Box-Cox when the series is positive and Guerrero's lambda is "
        "below box_cox_threshold; off: always the original scale.",
    )
    box_cox_threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Guerrero lambda at or above which the scale is kept."
    )
    compare_candidates: bool = Field(
        True,
        description="Check the decisions on validation: the tests' choice and its "
        "alternatives (with/without Box-Cox, with/without the seasonal difference) compete.",
    )
    candidate_folds: int = Field(
        3, ge=1, le=10, description="Walk-forward folds that score each candidate preprocessing."
    )
    candidate_epochs: int = Field(
        80, ge=1, description="Most epochs of each scoring fit (early stopping cuts it)."
    )

    @model_validator(mode="after")
    def _lookback_bounds(self) -> AnalysisConfig:
        if self.min_lookback > self.max_lookback:
            raise ValueError("analysis.min_lookback must not exceed analysis.max_lookback")
        return self


class TuningConfig(_Section):
    """Keras Tuner search over LSTM architectures (the space: lstm_model/modeling/network.py)."""

    tuner: Literal["random", "bayesian", "hyperband"] = "random"
    max_trials: int = Field(8, ge=1, description="Also caps Hyperband's brackets.")
    executions_per_trial: int = Field(1, ge=1, description="Fits per trial, averaged.")
    max_search_seconds: float | None = Field(
        None, gt=0, description="Wall-clock budget: no new trial starts once it is spent."
    )
    epochs: int = Field(40, ge=1, description="Upper bound per trial; early stopping cuts it.")
    patience: int = Field(5, ge=1)
    min_layers: int = Field(1, ge=1, le=3)
    max_layers: int = Field(2, ge=1, le=3)
    units: tuple[int, ...] = (16, 32, 64)
    activations: tuple[Literal["tanh", "relu"], ...] = ("tanh",)
    max_dropout: float = Field(0.3, ge=0.0, lt=1.0)
    max_recurrent_dropout: float = Field(0.2, ge=0.0, lt=1.0)
    optimizers: tuple[Literal["adam", "rmsprop", "sgd"], ...] = ("adam", "rmsprop")
    sgd_momentum: float = Field(0.9, ge=0.0, lt=1.0)
    min_learning_rate: float = Field(1e-3, gt=0.0)
    max_learning_rate: float = Field(1e-2, gt=0.0)
    batch_sizes: tuple[int, ...] = (32, 64)
    lookback_multipliers: tuple[float, ...] = Field(
        (), description="Empty: the analysis' lookback. Else also search round(lookback * m)."
    )
    cv_folds: int = Field(
        1, ge=1, le=10, description="1: the validation split. k>1: k walk-forward folds."
    )
    linear_skip: bool = Field(
        True, description="Add a linear autoregression on the window beside the LSTM stack."
    )
    linear_start: bool = Field(
        False,
        description="Start every fit at the ridge autoregression of its training windows on "
        "the linear path, the LSTM learning what it misses (needs linear_skip).",
    )

    @model_validator(mode="after")
    def _space_bounds(self) -> TuningConfig:
        if self.min_layers > self.max_layers:
            raise ValueError("tuning.min_layers must not exceed tuning.max_layers")
        if self.min_learning_rate > self.max_learning_rate:
            raise ValueError("tuning.min_learning_rate must not exceed tuning.max_learning_rate")
        for name in ("units", "activations", "optimizers", "batch_sizes"):
            if not getattr(self, name):
                raise ValueError(f"tuning.{name} needs at least one choice")
        if min(self.units) < 1 or min(self.batch_sizes) < 1:
            raise ValueError("tuning.units and tuning.batch_sizes must be positive")
        if any(m <= 0 for m in self.lookback_multipliers):
            raise ValueError("tuning.lookback_multipliers must be positive, e.g. [0.5, 1, 2]")
        return self


class TrainingConfig(_Section):
    """Final fit from the best hyperparameters (batch size included)."""

    epochs: int = Field(150, ge=1)
    patience: int = Field(12, ge=1)
    ensemble_size: int = Field(
        1, ge=1, le=10, description="Seeds seed, seed+1, ...; >1 averages them in one model."
    )
    refit_on_full_history: bool = Field(
        True,
        description="Ship a refit on every row (transform included) after evaluation; "
        "False ships the evaluated model, trained on the training part only.",
    )


class PanelConfig(_Section):
    """A panel's models: one global LSTM fitted on the windows of every series (the default),
    or one LSTM per series."""

    strategy: Literal["global", "local"] = Field(
        "global",
        description="global: one LSTM for every series (cold start for new ids). local: the "
        "single-series pipeline per series, one model each, fanned out by execution.runner.",
    )
    lookback_seasons: float = Field(
        3.0,
        gt=0.0,
        description="Input steps as a multiple of the season (of the horizon "
        "when the panel has no season), within analysis.min_lookback..max_lookback.",
    )
    units: int = Field(32, ge=1)
    layers: int = Field(1, ge=1, le=3)
    batch_size: int = Field(64, ge=1)
    loss: Literal["mae", "mse", "huber"] = Field(
        "mae",
        description="Training loss on the window-normalised targets. MAE: the panel is judged "
        "by MASE (absolute errors), and windows whose future breaks from their past (a trend "
        "that flattens) weigh less than under MSE.",
    )
    epochs: int = Field(100, ge=1)
    patience: int = Field(10, ge=1)
    max_series_worse_than_seasonal_naive: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Blessing: largest share of series on which the LSTM's MASE may be above "
        "seasonal naive's (besides winning on the pooled errors).",
    )


class ForecastConfig(_Section):
    """How far ahead the model forecasts, and the prediction intervals around the path."""

    horizon: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Steps ahead (h), all forecast at once. None: by cadence (monthly 12, "
        "quarterly 8, yearly 4, weekly 13, daily 14, hourly 24, otherwise 10).",
    )
    levels: tuple[float, ...] = Field(
        (80.0, 95.0), description="Coverage of the conformal prediction intervals, in percent."
    )

    @model_validator(mode="after")
    def _levels_are_percentages(self) -> ForecastConfig:
        if not self.levels or any(not 50 <= level <= 99 for level in self.levels):
            raise ValueError("forecast.levels are percentages between 50 and 99, e.g. [80, 95]")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("forecast.levels must be distinct")
        return self


class RegistryConfig(_Section):
    """MLflow tracking, registry and the promotion rule."""

    model_name: str = Field("lstm-forecaster", min_length=1)
    experiment: str = "lstm-pipeline"
    tracking_uri: str | None = Field(
        None, description="None: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the cwd."
    )
    lock_timeout: float = Field(
        3600.0,
        gt=0,
        description="Seconds to wait for the model's registry lock, held by another retrain "
        "or promotion of the same model during push (and deployment) and promotion.",
    )

    @field_serializer("tracking_uri", when_used="json")
    def _without_credentials(self, uri: str | None) -> str | None:
        # JSON is how a config leaves the process (Prefect's flow-run parameters, MLflow
        # params, fingerprints): user:password@ and tokens stay in memory only.
        return None if uri is None else redact(uri)


class EvaluationConfig(_Section):
    """The rolling-origin backtest and its baselines, residual diagnostics, sensitivity."""

    baselines: tuple[
        Literal["naive", "seasonal_naive", "drift", "ets", "arima", "theta"], ...
    ] = Field(
        ("naive", "seasonal_naive", "drift", "ets", "arima", "theta"),
        description="ets, arima and theta are statsforecast's AutoETS, AutoARIMA and AutoTheta.",
    )
    backtest_stride: int = Field(
        1, ge=1, description="Steps between the backtest's origins on the test part."
    )
    ljung_box_lags: int = Field(10, ge=1)
    sensitivity_delta: float = Field(
        1.0, gt=0.0, description="Perturbation, in training standard deviations."
    )

    @model_validator(mode="after")
    def _seasonal_naive_needed(self) -> EvaluationConfig:
        if "seasonal_naive" not in self.baselines:
            raise ValueError("evaluation.baselines must include seasonal_naive (blessing uses it)")
        return self


class BlessingConfig(_Section):
    """When a challenger may become champion (and be pushed)."""

    significance: float = Field(0.05, gt=0.0, lt=0.5, description="One-sided test level.")
    test: Literal["diebold_mariano", "paired_t"] = "diebold_mariano"
    loss: Literal["squared", "absolute"] = "squared"
    min_improvement_over_seasonal_naive: float = Field(
        0.0, ge=0.0, lt=1.0, description="Required relative MSE reduction vs seasonal naive."
    )
    require_beating_best_baseline: bool = Field(
        False, description="Also be significantly better than the best baseline."
    )
    champion_rule: Literal["significantly_better", "not_worse"] = "significantly_better"


class PushConfig(_Section):
    """Where the SageMaker-layout model package goes."""

    push_uri: str | None = Field(None, description="s3://bucket/prefix, or None for local_dir.")
    local_dir: Path = Path("model_store")


class DeployConfig(_Section):
    """SageMaker hosting of the pushed package (TensorFlow Serving); off unless enabled.

    Deploys only a version that became champion, after its push to S3 succeeded.
    """

    enabled: bool = False
    endpoint_name: str | None = Field(
        None, description="SageMaker endpoint; created if missing, else updated in place."
    )
    role_arn: str | None = Field(
        None, description="Execution role (infra/ output SageMakerExecutionRoleArn)."
    )
    region: str | None = Field(None, description="None: AWS_DEFAULT_REGION / the profile's.")
    instance_type: str = "ml.m5.large"
    instance_count: int = Field(1, ge=1)
    image_uri: str | None = Field(
        None, description="None: the AWS TensorFlow Serving image for region and tf_version."
    )
    tf_version: str = Field("2.19", pattern=r"^\d+\.\d+(\.\d+)?$")
    wait_timeout: float = Field(1800.0, gt=0, description="Seconds to wait for InService.")
    dry_run: bool = Field(False, description="Print every SageMaker call instead of making it.")


class ServeConfig(_Section):
    """The HTTP inference service (``lstm-pipeline serve``)."""

    host: str = Field("127.0.0.1", description="Bind address; 0.0.0.0 to serve other machines.")
    port: int = Field(8080, ge=0, le=65535, description="0: any free port.")
    poll_seconds: float = Field(
        30.0, gt=0, description="How often the registry alias is checked for a new version."
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger bodies get 413.")
    max_instances: int = Field(1024, ge=1, description="Most windows (forecasts) per request.")
    out_of_range_sd: float = Field(
        10.0,
        gt=0,
        description="A window whose standardised model inputs exceed this many training "
        "standard deviations is flagged (X-Out-Of-Range, out_of_range) and counted.",
    )
    api_key_env: str = Field(
        "LSTM_PIPELINE_API_KEY", description="Env var holding the API key; unset: no auth."
    )


class ExecutionConfig(_Section):
    """Where the pipeline's parallel work runs: tuner trials (and, with the local panel
    strategy, each series' pipeline). Everything else stays in the flow's process."""

    runner: Literal["local", "dask"] = Field(
        "local",
        description="local: one process, one trial after another. dask: trials (and series) "
        "are Prefect tasks on a Dask cluster.",
    )
    dask_address: str | None = Field(
        None,
        description="An existing Dask scheduler, e.g. tcp://host:8786; unset: start a local "
        "cluster of dask_workers processes on this machine.",
    )
    dask_workers: int = Field(2, ge=1, description="Worker processes of the local cluster.")
    threads_per_worker: int = Field(
        1,
        ge=1,
        description="TensorFlow threads (intra- and inter-op) in each worker process, so that "
        "workers do not oversubscribe the machine's cores.",
    )
    retries: int = Field(
        2, ge=0, description="Retries of a trial or series whose task fails or loses its worker."
    )


class PipelineConfig(_Section):
    """Every knob of a retraining run, with defaults that run as they are."""

    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    tuning: TuningConfig = TuningConfig()
    training: TrainingConfig = TrainingConfig()
    forecast: ForecastConfig = ForecastConfig()
    panel: PanelConfig = PanelConfig()
    registry: RegistryConfig = RegistryConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    blessing: BlessingConfig = BlessingConfig()
    push: PushConfig = PushConfig()
    deploy: DeployConfig = DeployConfig()
    serve: ServeConfig = ServeConfig()
    execution: ExecutionConfig = ExecutionConfig()
    seed: int = Field(42, ge=0)

    @model_validator(mode="after")
    def _runner_supports_tuner(self) -> PipelineConfig:
        if self.execution.runner == "dask" and self.tuning.tuner == "hyperband":
            raise ValueError(
                "tuning.tuner hyperband runs only with execution.runner local: it resumes "
                "trials from other trials' checkpoints; use random or bayesian on Dask"
            )
        return self

    def flat(self) -> dict[str, Any]:
        """Dotted ``section.field -> value`` pairs, ready for ``mlflow.log_params``."""
        flat: dict[str, Any] = {}
        for section, values in self.model_dump(mode="json").items():
            if isinstance(values, dict):
                flat.update({f"{section}.{key}": value for key, value in values.items()})
            else:
                flat[section] = values
        return flat

    def sha256(self) -> str:
        """Fingerprint of every setting, to tell whether two runs were configured alike."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def with_overrides(self, **dotted: Any) -> PipelineConfig:
        """A copy with ``section__field=value`` overrides applied; ``None`` values are ignored."""
        data = self.model_dump()
        for key, value in dotted.items():
            if value is None:
                continue
            section, _, field = key.partition("__")
            if field:
                data[section][field] = value
            else:
                data[section] = value
        return PipelineConfig.model_validate(data)
