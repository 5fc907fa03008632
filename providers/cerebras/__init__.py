"""The `cerebras` provider (in progress)."""
