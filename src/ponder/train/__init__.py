"""Training through TRL on reasoning data and rewards: `ponder train sft|prm|grpo CONFIG`.

- `config`: the YAML config of a run (what to train, on what, for how long; the TRL settings
  passed through as they are, so the same file scales to a GPU).
- `weights`: transformers weights from the GGUF files ponder ships, or a tiny random model.
- `sft`: SFTTrainer on conversational rows (`ponder data reject|backtrack`), loss on the reply.
- `grpo`: GRPOTrainer on a benchmark's items with `ponder.rewards`.
- `prm`: a process verifier, a token classifier trained on stepwise rows (`ponder data steps`).
- `log`: every logged step appended to `<output>/metrics.jsonl` as it is logged.

Importing these modules needs the `train` extra (torch, transformers, trl, datasets)."""
