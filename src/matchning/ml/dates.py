"""Dates as day numbers (days since 1970-01-01), so rules compare whole arrays at once."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

FAR_FUTURE = 10**6    # an open-ended period
FAR_PAST = -(10**6)   # no earliest start
_EPOCH = date(1970, 1, 1)


def day_number(value: date | str | None, missing: int) -> int:
    if value is None or value == "" or value != value:  # NaN and NaT differ from themselves
        return missing
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):  # also pandas Timestamp
        value = value.date()
    return (value - _EPOCH).days if isinstance(value, date) else missing


def day_numbers(values, missing: int) -> np.ndarray:
    return np.fromiter((day_number(v, missing) for v in values), dtype=np.int64,
                       count=len(values))


def to_date(day: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + int(day))
