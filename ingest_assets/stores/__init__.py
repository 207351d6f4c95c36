"""Stores: where data is written. Writes are staged, then committed atomically."""
