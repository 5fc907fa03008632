"""The `groq` provider (in progress)."""
