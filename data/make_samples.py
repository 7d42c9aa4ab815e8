"""Regenerate the bundled sample series from data that ships inside statsmodels (no download).

Run `python data/make_samples.py` from the repository root.

"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import statsmodels.api as sm

HERE = Path(__file__).parent


def elnino_monthly() -> pd.DataFrame:
    """Monthly Niño 1+2 sea surface temperature, 1950-2010 (NOAA ERSST.V3B)."""
    wide = sm.datasets.elnino.load_pandas().data
    months = list(wide.columns[1:13])
    long = wide.melt(id_vars="YEAR", value_vars=months, var_name="month", value_name="value")
    long["timestamp"] = pd.to_datetime(
        {"year": long["YEAR"].astype(int), "month": long["month"].map(months.index) + 1, "day": 1}
    )
    return long.sort_values("timestamp")[["timestamp", "value"]]


def unemployment_quarterly() -> pd.DataFrame:
    """US unemployment rate, quarterly 1959-2009 (statsmodels macrodata, BLS)."""
    macro = sm.datasets.macrodata.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(
        year=macro["year"].astype(int), quarter=macro["quarter"].astype(int), freq="Q"
    )
    return pd.DataFrame({"timestamp": quarters.to_timestamp(), "value": macro["unemp"]})


if __name__ == "__main__":
    for name, frame in {
        "elnino_sst_monthly.csv": elnino_monthly(),
        "us_unemployment_quarterly.csv": unemployment_quarterly(),
    }.items():
        frame.to_csv(HERE / name, index=False, date_format="%Y-%m-%d")
        print(f"wrote {name}: {len(frame)} rows")
