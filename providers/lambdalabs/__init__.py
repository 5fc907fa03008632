"""The `lambdalabs` provider (in progress)."""
