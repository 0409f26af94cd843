"""Deterministic demo data: simulated machine telemetry and maintenance work orders."""
