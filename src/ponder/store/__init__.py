"""The SQLite store: runs, results and every model call, written as they finish, each write one
transaction; the embeddings cache (`StoredVectors`); the town's memory streams
(`StoredMemories`) and steps (`StoredSteps`). `Store(path, readonly=True)` reads a store and writes nothing. `sample_records`
and `samples_frame` give a run's samples as flat rows."""

from ponder.store.db import default_store_path
from ponder.store.embeddings import StoredVectors
from ponder.store.memories import StoredMemories, StoredMemory
from ponder.store.results import Store
from ponder.store.samples import sample_records, samples_frame
from ponder.store.town_steps import StoredSteps, TownStep

__all__ = [
    "Store",
    "StoredMemories",
    "StoredMemory",
    "StoredSteps",
    "StoredVectors",
    "TownStep",
    "default_store_path",
    "sample_records",
    "samples_frame",
]
