"""The `azureml` provider (in progress)."""
