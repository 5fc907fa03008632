"""The `huggingface` provider (in progress)."""
