"""The `paperspace` provider (in progress)."""
