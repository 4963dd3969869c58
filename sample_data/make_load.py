"""Generate sample_data/load.csv: a synthetic hourly electricity load with a temperature feature.

Seeded, so running it again reproduces the file byte for byte:

    python sample_data/make_load.py

The series is built to look like a small utility's demand from March to June: a daily cycle
(night trough, morning and evening peaks), quieter weekends, and air-conditioning load on hot
afternoons. The temperature drifts up through spring, so late-period loads cross 80 MW on heat
waves: threshold events to detect with `lstmcast evaluate --threshold 80`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240301
DAYS = 120


def make(seed: int = SEED, days: int = DAYS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    time = pd.date_range("2024-03-01", periods=24 * days, freq="h")
    hour = time.hour.to_numpy()
    day = np.arange(len(time)) / 24

    # Temperature: spring warming, a daily cycle peaking mid-afternoon, multi-day weather swings.
    weather = np.convolve(rng.normal(0, 1, len(time) + 96), np.ones(96) / 96 ** 0.5, mode="valid")[: len(time)]
    temperature = 9 + 14 * day / days + 5 * np.sin(2 * np.pi * (hour - 9) / 24) + 2.2 * weather

    # Load: a daily shape with morning and evening peaks, lower at weekends, cooling above 20 C.
    shape = 8 * np.sin(2 * np.pi * (hour - 7) / 24) + 4 * np.exp(-((hour - 19) ** 2) / 6)
    weekend = np.where(time.day_of_week.to_numpy() >= 5, -6.0, 0.0)
    cooling = 2.6 * np.clip(temperature - 20, 0, None)
    noise = np.zeros(len(time))
    shocks = rng.normal(0, 1.0, len(time))
    for t in range(1, len(time)):  # AR(1) noise: errors persist for hours, as in real demand
        noise[t] = 0.8 * noise[t - 1] + shocks[t]
    load = 58 + shape + weekend + cooling + noise

    return pd.DataFrame(
        {"time": time.strftime("%Y-%m-%d %H:%M"), "load": load.round(2), "temperature": temperature.round(1)}
    )


if __name__ == "__main__":
    out = Path(__file__).with_name("load.csv")
    make().to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
