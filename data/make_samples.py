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


def macro_panel_quarterly() -> pd.DataFrame:
    """The 12 quarterly US macro series of statsmodels' macrodata, 1959-2009, as a long panel.

    Real GDP, consumption, investment, government spending, disposable income, CPI, M1,
    T-bill rate, unemployment, population, inflation and the real interest rate (BEA, BLS,
    Federal Reserve): levels from 0.1 to 13,000, trending, cyclic and noisy series.
    """
    macro = sm.datasets.macrodata.load_pandas().data
    stamps = pd.PeriodIndex.from_fields(
        year=macro["year"].astype(int), quarter=macro["quarter"].astype(int), freq="Q"
    ).to_timestamp()
    columns = [c for c in macro.columns if c not in ("year", "quarter")]
    return pd.concat(
        [pd.DataFrame({"series_id": c, "timestamp": stamps, "value": macro[c]}) for c in columns],
        ignore_index=True,
    )


if __name__ == "__main__":
    for name, frame in {
        "elnino_sst_monthly.csv": elnino_monthly(),
        "us_unemployment_quarterly.csv": unemployment_quarterly(),
        "us_macro_quarterly_panel.csv": macro_panel_quarterly(),
    }.items():
        frame.to_csv(HERE / name, index=False, date_format="%Y-%m-%d")
        print(f"wrote {name}: {len(frame)} rows")
