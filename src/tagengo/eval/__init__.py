"""``tagengo eval``: lm-evaluation-harness tasks (summarization, translation, knowledge, and any
lm-eval task by name) on a local model, a GGUF or any OpenAI-compatible server, from local data
files; results as a models × languages × tasks table with a manifest (docs/eval.md)."""
