"""The `vertex` provider (in progress)."""
