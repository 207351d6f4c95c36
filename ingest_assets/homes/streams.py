"""Run record batch streams on background threads and merge them into one bounded stream.

One stream on a thread lets fetching and decoding overlap with the store's encoding (the consumer);
several streams read key ranges at once. The queue holds a few batches, so memory stays bounded
however large the table, and a failure in any stream ends the whole read with that error.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pyarrow as pa

from ingest_assets.errors import BatchTypesChanged

# Opens one stream; the batches are valid while its context is open.
StreamOpener = Callable[[], AbstractContextManager[Iterable[pa.RecordBatch]]]

_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class _Done:
    error: BaseException | None = None


def merged_batches(openers: list[StreamOpener], queue_size: int = 4) -> Generator[pa.RecordBatch, None, None]:
    """Batches of every stream, in arrival order; each stream runs on its own thread."""
    items: queue.Queue[pa.RecordBatch | _Done] = queue.Queue(maxsize=queue_size)
    stop = threading.Event()

    def put(item: pa.RecordBatch | _Done) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run(opener: StreamOpener) -> None:
        try:
            with opener() as stream:
                for batch in stream:
                    if not put(batch):
                        return  # the consumer stopped: leave, closing the stream
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(_Done(error))
            return
        put(_Done())

    threads = [threading.Thread(target=run, args=(opener,), name=f"ingest-read-{i}", daemon=True)
               for i, opener in enumerate(openers)]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = items.get()
            if isinstance(item, _Done):
                running -= 1
                if item.error is not None:
                    raise item.error
                continue
            yield item
    finally:
        # Stops the other streams on an error or when the consumer leaves early, and waits for them
        # so that no connection outlives the read.
        stop.set()
        for thread in threads:
            thread.join()


def as_reader(batches: Iterator[pa.RecordBatch]) -> pa.RecordBatchReader:
    """One reader over merged streams, in the schema of the first batch with rows.

    Every stream yields at least one batch (empty when it has no rows, to carry its columns), so the
    schema is known even for an empty source. Streams of a query may infer different types from their
    first rows (an all-null column): later batches are cast to the first schema, or the read fails.
    """
    first, empty = None, None
    for batch in batches:
        if batch.num_rows:
            first = batch
            break
        empty = empty or batch
    if first is None:
        assert empty is not None, "every stream yields at least one batch"
        return pa.RecordBatchReader.from_batches(empty.schema, iter(()))
    return pa.RecordBatchReader.from_batches(first.schema, _conformed(first, batches))


def _conformed(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    schema = first.schema
    yield first
    for batch in rest:
        if not batch.num_rows:
            continue
        if batch.schema.equals(schema):
            yield batch
            continue
        try:
            yield batch.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise BatchTypesChanged(found=batch.schema, expected=schema, reason=str(error)) from error


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A batch of no rows: what a read of nothing yields, so its columns still tell the schema."""
    return pa.RecordBatch.from_arrays([pa.array([], type=field.type) for field in schema], schema=schema)
