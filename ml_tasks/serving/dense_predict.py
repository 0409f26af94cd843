"""A booster's prediction on a small dense matrix, without ``inplace_predict``'s per-call setup.

``Booster.inplace_predict`` costs ~250 us of Python per call on this machine, most of it
around the model call: it re-encodes its JSON arguments, tests the input against a dozen data
frame types, and wraps the output by defining a class each time. For the gateway's one-to-few
row requests that is as much as the rest of a request. :func:`dense_predictor` binds the same
C entry point (``XGBoosterPredictFromDense``, the one ``inplace_predict`` calls for a numpy
array) with its arguments encoded once. It uses xgboost's internal ``_LIB`` handle, so it is
checked against the pinned xgboost: when those names are missing it falls back to
``inplace_predict``, and the unit test compares both on the same rows.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

Predictor = Callable[[np.ndarray], np.ndarray]


def _inplace(booster: Any) -> Predictor:
    def predict(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(booster.inplace_predict(matrix), dtype=np.float64)

    return predict


def dense_predictor(booster: Any) -> Predictor:
    """``matrix (float64, C order) -> predictions (float64)``, as ``inplace_predict`` gives them
    (one value per row, or one column per class)."""
    if getattr(booster, "handle", None) is None:  # not a loaded xgboost Booster
        return _inplace(booster)
    try:
        from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs
    except ImportError:  # another xgboost than the pinned one: the public path
        log.warning("xgboost internals not found: scoring through inplace_predict")
        return _inplace(booster)
    args = make_jcargs(
        type=0,  # values (probabilities), not margins
        training=False,
        iteration_begin=0,
        iteration_end=0,
        missing=float("nan"),
        strict_shape=False,
        cache_id=0,
    )
    call = _LIB.XGBoosterPredictFromDense
    handle = booster.handle
    no_proxy = ctypes.c_void_p()

    def predict(matrix: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(matrix, dtype=np.float64)
        rows, cols = data.shape
        interface = (
            f'{{"data": [{data.ctypes.data}, false], "shape": [{rows}, {cols}], '
            f'"strides": null, "typestr": "<f8", "version": 3}}'
        ).encode()
        shape = ctypes.POINTER(c_bst_ulong)()
        dims = c_bst_ulong()
        preds = ctypes.POINTER(ctypes.c_float)()
        _check_call(
            call(
                handle,
                interface,
                args,
                no_proxy,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        size = int(np.prod(out_shape))
        # Copy out at once: the booster reuses its (thread-local) output buffer.
        flat = np.ctypeslib.as_array(preds, shape=(size,)).astype(np.float64)
        return flat.reshape(out_shape)

    return predict
