"""The bound C prediction call gives what ``inplace_predict`` gives, row for row."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from ml_tasks.serving.dense_predict import dense_predictor


def _booster(objective: str, classes: int = 2) -> xgb.Booster:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] + x[:, 1] > 0).astype(int) if classes == 2 else rng.integers(0, classes, 400)
    params = {"objective": objective, "max_depth": 3, "nthread": 1}
    if classes > 2:
        params["num_class"] = classes
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=15)


@pytest.mark.parametrize(("objective", "classes"), [("binary:logistic", 2), ("multi:softprob", 3)])
def test_same_values_as_inplace_predict(objective: str, classes: int) -> None:
    booster = _booster(objective, classes)
    rows = np.random.default_rng(9).normal(size=(7, 6))
    rows[2, 3] = np.nan  # a missing value goes down the default branch in both
    rows[4, :] = np.nan
    predict = dense_predictor(booster)
    for matrix in (rows, rows[:1], rows[3:5]):
        expected = booster.inplace_predict(matrix)
        got = predict(matrix)
        assert got.dtype == np.float64
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected.astype(np.float64))


def test_output_is_a_copy_not_the_boosters_buffer() -> None:
    booster = _booster("binary:logistic")
    predict = dense_predictor(booster)
    rows = np.random.default_rng(3).normal(size=(5, 6))
    first = predict(rows[:1]).copy()
    kept = predict(rows[:1])
    predict(rows[1:])  # reuses the booster's output buffer
    np.testing.assert_array_equal(kept, first)


def test_a_non_contiguous_or_float32_matrix_is_scored_as_its_values() -> None:
    booster = _booster("binary:logistic")
    rows = np.random.default_rng(4).normal(size=(6, 12))[:, ::2]  # strided view
    np.testing.assert_array_equal(
        dense_predictor(booster)(rows), booster.inplace_predict(np.ascontiguousarray(rows))
    )
    f32 = rows.astype(np.float32)
    np.testing.assert_allclose(
        dense_predictor(booster)(f32), booster.inplace_predict(f32), rtol=1e-6
    )


def test_an_object_without_a_booster_handle_uses_inplace_predict() -> None:
    class Stub:
        handle = None

        def inplace_predict(self, matrix: np.ndarray) -> np.ndarray:
            return np.full(len(matrix), 0.25, dtype=np.float32)

    out = dense_predictor(Stub())(np.zeros((3, 2)))
    assert out.tolist() == [0.25, 0.25, 0.25]
