"""Where file stores keep their files: a local folder, Azure Blob storage, or ADLS Gen2 / OneLake (DFS).

Stores speak only the `Storage` protocol in `base.py`; `open_storage` picks the backend.
"""

from ingest_assets.storage.base import Entry, Storage

__all__ = ["Entry", "Storage"]
