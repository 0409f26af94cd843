"""Deployment checks: the Kubernetes manifests and Helm values under ``include/k8s``, offline."""
