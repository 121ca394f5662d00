"""Models: training here or as a job, the run registry, tuning, trials, bundles trained
elsewhere, and forecasts.

``runs``: training in this process, the run registry, loading a model.
``jobs``: training as a job of its own (models/train.py in a background process).
``tuning``: an Optuna study of the learner's settings on a run's rows, every trial counted.
``trials``: the trial count and Sharpe variance behind every Deflated Sharpe.
``champions``: retraining: a challenger promoted only on evidence, the champion's history,
rollback.
``bundles``: importing bundles trained elsewhere.
``package``: training packages (configuration, prices, code) for a run trained elsewhere.
``convert``: the one-time conversion of bundle format 1 to format 2.
``forecast``: forecasts with reasons, on an as-of snapshot.
``tracking``: training runs, their tuning trials and zoo members also logged to MLflow.
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.modeling.artifacts": ("ArtifactError",),
    "engine.modeling.calibration": ("CALIBRATION_METHODS",),
    "engine.modeling.challenge": ("ChallengeVerdict",),
    "engine.modeling.explain": ("Thresholds",),
    "engine.modeling.labels": (
        "ABSOLUTE_KINDS",
        "LABEL_KINDS",
        "LABEL_LIMITS",
        "LabelParams",
    ),
    "engine.modeling.learners": (
        "DEVICES",
        "KIND_NAMES",
        "LEARNER_NAMES",
        "LEARNERS",
        "MODEL_KINDS",
        "SEQUENCE_LEARNERS",
        "TABULAR_LEARNERS",
        "LearnerParams",
        "available_device",
        "learner_families",
        "probability_label",
        "trainable_learners",
    ),
    "engine.modeling.membership": ("UniverseWindow",),
    "engine.modeling.param_limits": ("Limit",),
    "engine.modeling.training": (
        "TRAINING_LIMITS",
        "TrainConfig",
        "label_kind_for",
    ),
    "engine.modeling.tuning": (
        "TUNING_LIMITS",
        "TuningConfig",
    ),
    "engine.workflows.modeling.bundles": (
        "import_bundle",
        "import_bundle_archive",
    ),
    "engine.workflows.modeling.champions": (
        "KEPT_CHAMPIONS",
        "ChampionHistory",
        "RetrainResult",
        "champion_history",
        "compare_challenger",
        "retrain",
        "rollback",
    ),
    "engine.workflows.modeling.forecast": ("forecast",),
    "engine.workflows.modeling.package": (
        "export_training_package",
        "load_training_package",
        "read_training_package",
    ),
    "engine.workflows.modeling.jobs": (
        "TrainingJob",
        "cancel_training",
        "launch_training",
        "read_training_log",
        "training_status",
    ),
    "engine.workflows.modeling.runs": (
        "RUN_ID_PATTERN",
        "LookaheadError",
        "activate_run",
        "active_run",
        "artifacts_root",
        "describe_trained_through",
        "load_model",
        "load_model_as_of",
        "load_oos_predictions",
        "load_run",
        "load_runs",
        "run_kind",
        "train_model",
        "trained_through",
    ),
    "engine.workflows.modeling.tracking": (
        "TrackingRecord",
        "load_tracking",
    ),
    "engine.workflows.modeling.tuning": ("study_storage",),
    "store.models": (
        "ModelRun",
        "TrainingBusyError",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
