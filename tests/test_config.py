"""The configuration object: defaults that run, and clear refusals of values that cannot."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lstm_model.config import PipelineConfig


def test_forecast_defaults_follow_the_cadence_with_80_and_95_percent_intervals():
    config = PipelineConfig()
    assert config.forecast.horizon is None and config.forecast.levels == (80, 95)
    assert PipelineConfig().with_overrides(forecast__horizon=6).forecast.horizon == 6


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"forecast__horizon": 0}, "greater than or equal to 1"),
        ({"forecast__levels": (0.8, 0.95)}, "percentages between 50 and 99"),
        ({"forecast__levels": (80, 80)}, "distinct"),
    ],
)
def test_forecast_settings_out_of_range_are_refused(overrides, message):
    with pytest.raises(ValidationError, match=message):
        PipelineConfig().with_overrides(**overrides)
