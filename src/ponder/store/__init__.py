"""The SQLite store: runs, results and every model call, written as they finish, each write one
transaction; and the embeddings cache (`StoredVectors`). `Store(path, readonly=True)` reads a
store and writes nothing."""

from ponder.store.db import default_store_path
from ponder.store.embeddings import StoredVectors
from ponder.store.results import Store

__all__ = ["Store", "StoredVectors", "default_store_path"]
