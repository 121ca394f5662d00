"""DoubleEnsemble (Zhang et al., 2020; Qlib's ``DEnsembleModel``) over a boosting regressor.

Sub-models are trained one after another on the same rows. After each, two modules
change what the next one sees:

- sample reweighting (SR): every training row gets a weight from how hard it is for the
  ensemble so far (its loss, ranked) and how its loss moved during the last sub-model's
  boosting (the mean ranked loss over the last 10% of iterations against the first 10%);
  rows are binned by that score and each bin weighted ``1 / (decay ** k * mean + 0.1)``;
- feature selection (FS): each feature's importance is how much the ensemble's loss grows
  when that feature's column is shuffled (mean over rows of the increase, divided by its
  standard deviation); features are binned by importance and the next sub-model gets a
  random share of each bin, 80% of the most important down to 40% of the least.

The prediction is the weighted mean of the sub-models' predictions. Loss is the squared
error, as in Qlib. The rows given to ``fit`` are the training fold's only: the modules
read the training loss, never a test row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

CURVE_SHARE = 0.1  # the start and the end of the loss curve: 10% of the iterations each


def default_booster() -> BaseEstimator:
    """LightGBM's regressor, as in Qlib (no early stopping, so every sub-model has the same
    number of iterations)."""
    return LGBMRegressor(n_estimators=100, verbose=-1)


def staged_losses(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """The squared error of every row after each boosting iteration of ``model``.

    Parameters
    ----------
    model : fitted estimator
        One with ``staged_predict`` (scikit-learn's boosting), or LightGBM's regressor
        (``booster_``, predictions up to ``num_iteration``).
    X : DataFrame of shape (n, f)
    y : ndarray of shape (n,)

    Returns
    -------
    ndarray of shape (n, T)
        Column t is the loss after iterations 1..t+1.
    """
    if hasattr(model, "staged_predict"):
        stages = list(model.staged_predict(X))
    elif hasattr(model, "booster_"):
        total = model.booster_.current_iteration()
        stages = [model.predict(X, num_iteration=t) for t in range(1, total + 1)]
    else:
        raise ValueError(
            "sample reweighting needs a boosting model with per-iteration predictions "
            f"(staged_predict or LightGBM), not {type(model).__name__}"
        )
    return (np.column_stack(stages) - np.asarray(y, dtype=float)[:, None]) ** 2


def reweight_samples(
    loss_curve: np.ndarray,
    loss: np.ndarray,
    k: int,
    *,
    alpha1: float = 1.0,
    alpha2: float = 1.0,
    bins: int = 10,
    decay: float = 0.5,
) -> np.ndarray:
    """The SR module: the next sub-model's sample weights.

    Parameters
    ----------
    loss_curve : ndarray of shape (n, T)
        Every row's loss after each iteration of the last sub-model (``staged_losses``).
    loss : ndarray of shape (n,)
        Every row's loss under the ensemble so far.
    k : int
        Sub-models trained so far (1 after the first).
    alpha1, alpha2, bins, decay
        The weights of the two terms, the number of equal-width bins of their sum, and
        the decay of the bins' weights with ``k``.

    Returns
    -------
    ndarray of shape (n,)
        One weight per bin, larger for bins of rows the ensemble gets wrong.
    """
    curve = pd.DataFrame(loss_curve).rank(axis=0, pct=True)
    part = max(int(curve.shape[1] * CURVE_SHARE), 1)
    start = curve.iloc[:, :part].mean(axis=1)
    end = curve.iloc[:, -part:].mean(axis=1)
    hardness = pd.Series(-np.asarray(loss, dtype=float)).rank(pct=True)
    score = alpha1 * hardness + alpha2 * (end / start).rank(pct=True)
    binned = pd.cut(score, bins)
    mean = score.groupby(binned, observed=True).transform("mean")
    return (1.0 / (decay**k * mean + 0.1)).to_numpy()


def select_features(
    importance: pd.Series, sample_ratios: Sequence[float], rng: np.random.Generator
) -> list[str]:
    """The FS module: a random share of each importance bin, the largest share of the
    most important bin.

    Parameters
    ----------
    importance : Series of shape (f,), indexed by feature
        Each feature's shuffled-loss importance (NaN counts as 0).
    sample_ratios : sequence of float
        Share kept of each of ``len(sample_ratios)`` equal-width bins, the occupied bins
        taken from the most important down (as Qlib does).
    rng : Generator

    Returns
    -------
    list of str
        The kept features, in the order of ``importance``.
    """
    values = importance.fillna(0.0)
    binned = pd.cut(values, len(sample_ratios))
    kept: set = set()
    for ratio, interval in zip(
        sample_ratios, sorted(binned.dropna().unique(), reverse=True), strict=False
    ):
        members = values.index[binned == interval]
        size = int(np.ceil(ratio * len(members)))
        kept |= set(rng.choice(np.asarray(members, dtype=object), size=size, replace=False))
    return [f for f in importance.index if f in kept]


class DoubleEnsemble(RegressorMixin, BaseEstimator):
    """Sub-models trained in sequence with sample reweighting and feature selection.

    Parameters
    ----------
    estimator : estimator, optional
        The boosting regressor of each sub-model (cloned); ``default_booster()`` if None.
    n_models : int
        Number of sub-models.
    sample_reweighting, feature_selection : bool
        Whether the SR and FS modules run between sub-models.
    alpha1, alpha2, bins_sr, decay
        The SR module's settings (``reweight_samples``).
    sample_ratios : tuple of float
        The FS module's share of each importance bin (``select_features``).
    sub_weights : tuple of float, optional
        Each sub-model's weight in the prediction (equal if None).
    random_state : int
        Seed of the shuffles and the feature draws.
    n_jobs : int
        OpenMP threads of the sub-models (threadpoolctl's limit, during ``fit`` and
        ``predict``). One by default, as the project's learners: folds and trials run in
        parallel instead, and a busy machine makes OpenMP's extra threads many times
        slower.

    Attributes
    ----------
    models_ : list of estimator, length n_models
    features_ : list of list of str
        The features each sub-model was fitted on (all of them for the first).
    columns_ : list of ndarray of int
        The same as column positions.
    sample_weights_ : list of ndarray of shape (n,)
        The weights each sub-model was fitted with.
    """

    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        *,
        n_models: int = 6,
        sample_reweighting: bool = True,
        feature_selection: bool = True,
        alpha1: float = 1.0,
        alpha2: float = 1.0,
        bins_sr: int = 10,
        decay: float = 0.5,
        sample_ratios: tuple[float, ...] = (0.8, 0.7, 0.6, 0.5, 0.4),
        sub_weights: tuple[float, ...] | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.estimator = estimator
        self.n_models = n_models
        self.sample_reweighting = sample_reweighting
        self.feature_selection = feature_selection
        self.alpha1 = alpha1
        self.alpha2 = alpha2
        self.bins_sr = bins_sr
        self.decay = decay
        self.sample_ratios = sample_ratios
        self.sub_weights = sub_weights
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _weights(self) -> np.ndarray:
        weights = np.ones(self.n_models) if self.sub_weights is None else self.sub_weights
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (self.n_models,):
            raise ValueError(f"sub_weights needs {self.n_models} weights, got {len(weights)}")
        return weights

    def _blend(self, X: np.ndarray, count: int) -> np.ndarray:
        """The weighted mean prediction of the first ``count`` sub-models."""
        weights = self._weights()[:count]
        models = zip(self.models_[:count], self.columns_[:count], strict=True)
        stack = [model.predict(X[:, columns]) for model, columns in models]
        return np.average(np.column_stack(stack), axis=1, weights=weights)

    def fit(self, X, y, sample_weight: np.ndarray | None = None) -> DoubleEnsemble:
        """Train the sub-models in sequence on the training rows ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n, f)
            NaN allowed (the boosters handle it); a DataFrame's column names become the
            names in ``features_``, else ``x0``, ``x1``, ...
        y : array-like of shape (n,)
        sample_weight : array-like of shape (n,), optional
            Base weights (e.g. label uniqueness), multiplied by the SR module's.
        """
        if self.n_models < 1:
            raise ValueError("n_models must be at least 1")
        self._weights()
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", y_numeric=True)
        base = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        if base.shape != y.shape:
            raise ValueError(f"sample_weight has shape {base.shape}, y {y.shape}")
        with threadpool_limits(self.n_jobs, user_api="openmp"):
            return self._fit(X, y.astype(float), base)

    def _fit(self, X: np.ndarray, y: np.ndarray, base: np.ndarray) -> DoubleEnsemble:
        names = getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])
        position = {name: i for i, name in enumerate(names)}
        rng = np.random.default_rng(self.random_state)
        estimator = self.estimator if self.estimator is not None else default_booster()
        columns, weights = np.arange(X.shape[1]), base
        self.models_, self.columns_, self.sample_weights_ = [], [], []
        for k in range(1, self.n_models + 1):
            model = clone(estimator).fit(X[:, columns], y, sample_weight=weights)
            self.models_.append(model)
            self.columns_.append(columns)
            self.sample_weights_.append(weights)
            if k == self.n_models:
                break
            loss = (y - self._blend(X, k)) ** 2
            if self.sample_reweighting:
                curve = staged_losses(model, X[:, columns], y)
                weights = base * reweight_samples(
                    curve, loss, k, alpha1=self.alpha1, alpha2=self.alpha2,
                    bins=self.bins_sr, decay=self.decay,
                )  # fmt: skip
            if self.feature_selection:
                importance = pd.Series(self._shuffled_importance(X, y, loss, k, rng), names)
                kept = select_features(importance, self.sample_ratios, rng)
                columns = np.array([position[name] for name in kept])
        self.features_ = [[str(names[i]) for i in c] for c in self.columns_]
        return self

    def _shuffled_importance(
        self, X: np.ndarray, y: np.ndarray, loss: np.ndarray, k: int, rng: np.random.Generator
    ) -> np.ndarray:
        """(f,) per feature: mean / std over rows of the ensemble's loss increase when
        that feature's column is shuffled."""
        importance = np.empty(X.shape[1])
        shuffled = X.copy()
        for column in range(X.shape[1]):
            shuffled[:, column] = rng.permutation(X[:, column])
            increase = (y - self._blend(shuffled, k)) ** 2 - loss
            importance[column] = np.mean(increase) / (np.std(increase) + 1e-7)
            shuffled[:, column] = X[:, column]
        return importance

    def predict(self, X) -> np.ndarray:
        """The weighted mean of the sub-models' predictions, shape (n,)."""
        check_is_fitted(self, "models_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        with threadpool_limits(self.n_jobs, user_api="openmp"):
            return self._blend(X, len(self.models_))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
