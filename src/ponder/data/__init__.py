"""Benchmark files that ship with ponder, each with its licence beside it (see SOURCES.md here).

Read them through `ponder.tasks.data` (importlib.resources), never through a path built from
this file: a data folder given with `--data-dir`/`PONDER_DATA_DIR` overrides them file by file.
"""
