"""Walk-forward folds: expanding windows, each with a scaler fitted on its own training rows."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_model.errors import PipelineInputError
from lstm_model.modeling.folds import walk_forward_folds


def test_walk_forward_folds_expand_and_fit_their_own_scaler(trained):
    _, data, _ = trained
    folds = walk_forward_folds(data, data.transform.lookback, k=3)
    val_start, val_stop = data.bounds.validation
    length = val_stop - val_start
    assert [f.validation for f in folds] == [
        (val_start - 2 * length, val_start - length),
        (val_start - length, val_start),
        (val_start, val_stop),
    ]
    assert folds[-1].x_train is data.x_train  # the last fold is the plain split
    assert all(len(f.y_validation) == length for f in folds)
    # Fold 1's scaler saw only its own training rows: its scaled training targets are
    # standardised (mean 0 over the differenced training part), not the full split's.
    first = folds[0]
    assert len(first.y_train) == first.train_stop - data.transform.warmup
    assert abs(first.y_train.mean()) < 0.2 and not np.allclose(
        first.y_train[:10], data.y_train[:10]
    )
    with pytest.raises(PipelineInputError, match="cv_folds"):
        walk_forward_folds(data, data.transform.lookback, k=10)
