"""The `sagemaker` provider (in progress)."""
