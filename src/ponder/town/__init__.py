"""Generative Agents (Park et al. 2023): a memory stream with retrieval, reflection, planning and
dialogue, and a small town they live in, on any backend."""
