"""Reasoning data for training, made from any model through ponder's stored, resumable runs.

- `rejection`: k sampled chains per item, the correct ones kept (the shortest per item, or all
  of them, deduplicated), as TRL's conversational SFT rows; with the yield per item and the
  lengths of the kept chains against all.
- `rows`: the row formats (TRL's conversational and stepwise-supervision formats) with each row's
  provenance, and the JSONL file they are written to.

A generator is a run in the store like `ponder eval`'s: each item's samples are stored as the item
finishes, a killed generator resumes where it stopped, and the rows are read back from the store.
"""
