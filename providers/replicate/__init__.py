"""The `replicate` provider (in progress)."""
