"""The asset declarations: one object per asset, unique names and URIs, listed in ALL_ASSETS."""

from __future__ import annotations

from airflow.sdk import Asset

from ml_platform_airflow import assets
from ml_platform_airflow.constants import MODEL_NAME


def test_every_asset_is_listed_once_with_a_unique_name_and_uri():
    declared = [value for value in vars(assets).values() if isinstance(value, Asset)]
    assert set(declared) == set(assets.ALL_ASSETS)
    assert len(assets.ALL_ASSETS) == len(set(assets.ALL_ASSETS))
    assert len({a.name for a in declared}) == len({a.uri for a in declared}) == len(declared)


def test_the_model_assets_are_named_after_the_registered_model():
    for asset in (assets.MODEL_CHALLENGER, assets.MODEL_EVALUATION, assets.MODEL_CHAMPION):
        assert asset.name.startswith(f"{MODEL_NAME}_")
        assert asset.uri.startswith(f"mlflow://{MODEL_NAME}/")
