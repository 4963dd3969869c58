"""Generate sample_data/sales.csv: daily sales of 12 stores in one long table (store, date, sales).

Seeded, so running it again reproduces the file byte for byte:

    python sample_data/make_sales.py

The table is for trying a model of many series (`lstmcast train --id-col store`) and splitting its
forecast over jobs (`lstmcast predict --shard I/N`); docs/pipelines.md uses it. Each store has its
own level (from about 20 to about 2,000 a day), a weekly pattern whose weekend is busier or quieter
than its weekdays, a slow trend of its own and persistent day-to-day noise, so one global model has
to work in every store's own units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240115
STORES = 12
DAYS = 300


def make(seed: int = SEED, stores: int = STORES, days: int = DAYS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    weekday = dates.day_of_week.to_numpy()
    step = np.arange(days)
    blocks = []
    for number in range(1, stores + 1):
        level = 20 * 100 ** rng.uniform(0, 1)  # 20 to 2,000 a day, spread on a log scale
        weekend = rng.uniform(-0.3, 0.4)  # some stores sell more at weekends, some less
        week = 1 + 0.1 * np.sin(2 * np.pi * weekday / 7) + weekend * (weekday >= 5)
        trend = 1 + rng.uniform(-0.3, 0.5) * step / days
        noise = np.zeros(days)
        shocks = rng.normal(0, 0.05, days)
        for t in range(1, days):  # AR(1) noise: a good or bad spell lasts a few days
            noise[t] = 0.6 * noise[t - 1] + shocks[t]
        sales = level * week * trend * (1 + noise)
        blocks.append(
            pd.DataFrame({"store": f"s{number:02d}", "date": dates.strftime("%Y-%m-%d"), "sales": sales.round(2)})
        )
    return pd.concat(blocks, ignore_index=True)


if __name__ == "__main__":
    out = Path(__file__).with_name("sales.csv")
    make().to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
