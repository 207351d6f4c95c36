"""A load's progress in the run's log while it reads: rows so far, rows/s and the batch, every few
seconds (not every batch: each line is an event the instance writes), and a closing line with rows,
bytes, seconds and rows/s for a load long enough to have shown progress (a short load's figures are
in its materialization: `ingest/rows_read`, `ingest/duration_seconds`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

PROGRESS_SECONDS = 10.0  # between two progress lines of one load


class LoadProgress:
    def __init__(self, log: Callable[[str], None], label: str, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self._log, self._label, self._clock = log, label, clock
        self._interval = PROGRESS_SECONDS if interval is None else interval
        self._started = self._last = clock()
        self.rows = self.bytes = self.batches = 0
        self._shown = False

    def read(self, rows_read: int, batch: pa.RecordBatch) -> None:
        """One more batch to stage; `rows_read` the home's rows so far (a transform may change the count)."""
        self.rows = rows_read
        self.bytes += batch.nbytes
        self.batches += 1
        now = self._clock()
        if now - self._last >= self._interval:
            self._last, self._shown = now, True
            self._log(f"{self._label}: {self.rows:,} rows read so far ({self._rate(now):,.0f} rows/s), "
                      f"batch {self.batches:,}")

    def finish(self) -> None:
        """The closing line, where progress was shown."""
        if self._shown:
            now = self._clock()
            self._log(f"{self._label}: read {self.rows:,} rows ({self.bytes / 2**20:,.1f} MiB in Arrow) in "
                      f"{now - self._started:,.1f} s ({self._rate(now):,.0f} rows/s), {self.batches:,} batches")

    def _rate(self, now: float) -> float:
        return self.rows / max(now - self._started, 1e-9)
