"""Models: training here or as a job, the run registry, tuning, trials, bundles trained
elsewhere, and forecasts.

``runs``: training in this process, the run registry, loading a model.
``jobs``: training as a job of its own (models/train.py in a background process).
``tuning``: an Optuna study of the learner's settings on a run's rows, every trial counted.
``trials``: the trial count and Sharpe variance behind every Deflated Sharpe.
``bundles``: importing bundles trained elsewhere.
``convert``: the one-time conversion of bundle format 1 to format 2.
``forecast``: forecasts with reasons, on an as-of snapshot.
"""

from engine.modeling.artifacts import ArtifactError
from engine.modeling.calibration import CALIBRATION_METHODS
from engine.modeling.explain import Thresholds
from engine.modeling.labels import ABSOLUTE_KINDS, LABEL_KINDS, LABEL_LIMITS, LabelParams
from engine.modeling.learners import (
    DEVICES,
    KIND_NAMES,
    LEARNER_NAMES,
    LEARNERS,
    MODEL_KINDS,
    LearnerParams,
    available_device,
    probability_label,
)
from engine.modeling.membership import UniverseWindow
from engine.modeling.param_limits import Limit
from engine.modeling.training import TRAINING_LIMITS, TrainConfig, label_kind_for
from engine.modeling.tuning import TUNING_LIMITS, TuningConfig
from engine.workflows.modeling.bundles import import_bundle, import_bundle_archive
from engine.workflows.modeling.forecast import forecast
from engine.workflows.modeling.jobs import (
    TrainingJob,
    cancel_training,
    launch_training,
    read_training_log,
    training_status,
)
from engine.workflows.modeling.runs import (
    RUN_ID_PATTERN,
    LookaheadError,
    activate_run,
    active_run,
    artifacts_root,
    describe_trained_through,
    load_model,
    load_model_as_of,
    load_oos_predictions,
    load_run,
    load_runs,
    run_kind,
    train_model,
    trained_through,
)
from engine.workflows.modeling.tuning import study_storage
from store.models import ModelRun, TrainingBusyError

__all__ = [
    "ABSOLUTE_KINDS",
    "CALIBRATION_METHODS",
    "KIND_NAMES",
    "probability_label",
    "LABEL_KINDS",
    "LABEL_LIMITS",
    "MODEL_KINDS",
    "DEVICES",
    "LEARNERS",
    "LEARNER_NAMES",
    "RUN_ID_PATTERN",
    "TRAINING_LIMITS",
    "TUNING_LIMITS",
    "ArtifactError",
    "LabelParams",
    "LearnerParams",
    "Limit",
    "LookaheadError",
    "ModelRun",
    "Thresholds",
    "TrainConfig",
    "TrainingBusyError",
    "TrainingJob",
    "TuningConfig",
    "UniverseWindow",
    "activate_run",
    "active_run",
    "artifacts_root",
    "available_device",
    "cancel_training",
    "describe_trained_through",
    "forecast",
    "import_bundle",
    "import_bundle_archive",
    "label_kind_for",
    "launch_training",
    "load_model",
    "load_model_as_of",
    "load_oos_predictions",
    "load_run",
    "load_runs",
    "read_training_log",
    "run_kind",
    "study_storage",
    "train_model",
    "trained_through",
    "training_status",
]
