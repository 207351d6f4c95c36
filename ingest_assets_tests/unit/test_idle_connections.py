"""A resource's idle connections: how many wait, and that every one is closed in the end."""

from __future__ import annotations

import gc

from ingest_assets.connectors.idle_connections import IdleConnections


class _Connection:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        assert not self.closed, "closed twice"
        self.closed = True


def test_at_most_keep_wait_and_the_rest_are_closed():
    idle: IdleConnections[_Connection] = IdleConnections(keep=2)
    first, second, third = _Connection(), _Connection(), _Connection()
    for connection in (first, second, third):
        idle.give(connection)
    assert third.closed and not first.closed and not second.closed
    assert {idle.take(), idle.take()} == {first, second}
    assert idle.take() is None


def test_closing_closes_the_waiting_ones_and_every_one_given_back_later():
    idle: IdleConnections[_Connection] = IdleConnections(keep=4)
    waiting, in_use = _Connection(), _Connection()
    idle.give(waiting)
    idle.close()
    assert waiting.closed and idle.take() is None
    idle.give(in_use)  # a load that ends after the step's teardown
    assert in_use.closed


def test_dropped_without_a_teardown_closes_what_waits():
    idle: IdleConnections[_Connection] = IdleConnections(keep=1)
    waiting = _Connection()
    idle.give(waiting)
    del idle
    gc.collect()
    assert waiting.closed
