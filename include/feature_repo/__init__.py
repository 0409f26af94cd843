"""Feast feature repository of the predictive-maintenance use case.

Declarations only: entities, data sources, feature views and feature services, in the style of
Feast's own templates (a comment on every object). Nothing here reads settings, the network or
the disk at import. ``ml_tasks.features.store`` imports these modules, binds every data source's
relative ``path`` to the offline store root of the current settings (a local folder or an
``s3://`` prefix), renders ``feature_store.yaml`` from the settings and registers the objects.
"""
