"""Observability: platform metrics pushed to a Prometheus Pushgateway by the batch tasks.

``pushgateway`` sends samples (a no-op on the embedded default); ``platform_metrics`` turns each
stage's result into samples. The gateway's own metrics live in :mod:`ml_tasks.serving.metrics`.
"""
