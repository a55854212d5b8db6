"""Putting CDI devices into an OCI spec: requests, hook plan, and the pipeline both programs run."""
