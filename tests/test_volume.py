"""The Volume model: geometry helpers, value range, and no needless copies."""

from __future__ import annotations

import numpy as np
import pytest

from glmip.volume import Volume, VolumeError


def test_explicit_little_endian_is_not_copied_big_endian_is_converted():
    a = np.zeros((4, 5, 6), dtype="<i2")
    assert Volume(a).data is a  # native byte order: the very same array
    b = np.arange(120, dtype=">i2").reshape(4, 5, 6)
    v = Volume(b)
    assert v.data.dtype.isnative and np.array_equal(v.data, b)


def test_dtypes_kept_or_converted_once():
    for dt in (np.uint8, np.int8, np.uint16, np.int16, np.float32):
        a = np.zeros((2, 2, 2), dt)
        assert Volume(a).data is a
    assert Volume(np.zeros((2, 2, 2), np.float64)).data.dtype == np.float32
    assert Volume(np.zeros((2, 2, 2), np.int32)).data.dtype == np.float32
    assert Volume(np.zeros((2, 2, 2), bool)).data.dtype == np.uint8


def test_geometry():
    aff = np.diag([2.0, 3.0, 4.0, 1.0])
    aff[:3, 3] = (10, 20, 30)
    v = Volume(np.zeros((5, 6, 7), np.uint8), aff)
    np.testing.assert_allclose(v.spacing, (2, 3, 4))
    np.testing.assert_allclose(v.center, (10 + 2 * 2, 20 + 3 * 2.5, 30 + 4 * 3))
    corners = v.corners()
    np.testing.assert_allclose(corners.min(0), (10 - 1, 20 - 1.5, 30 - 2))
    np.testing.assert_allclose(corners.max(0), (10 + 2 * 4.5, 20 + 3 * 5.5, 30 + 4 * 6.5))
    assert v.orientation == "RAS"
    flipped = Volume(np.zeros((5, 6, 7), np.uint8), np.diag([-1.0, -1.0, 1.0, 1.0]))
    assert flipped.orientation == "LPS"


def test_value_range_real_units_and_nan():
    d = np.array([np.nan, 1.0, -np.inf, 5.0, np.inf, 3.0, 2.0, 0.5], np.float32).reshape(2, 2, 2)
    assert Volume(d).value_range == (0.5, 5.0)
    assert Volume(d, slope=-2.0, inter=1.0).value_range == (-9.0, 0.0)
    assert Volume(np.full((2, 2, 2), np.nan, np.float32)).value_range is None


@pytest.mark.parametrize("data,affine,needle", [
    (np.zeros((4, 4)), np.eye(4), "3 dimensions"),
    (np.zeros((4, 4, 4, 2)), np.eye(4), "3 dimensions"),
    (np.zeros((4, 0, 4)), np.eye(4), "zero-sized"),
    (np.zeros((4, 4, 4)), np.diag([1.0, 0.0, 1.0, 1.0]), "singular"),
    (np.zeros((4, 4, 4)), np.full((4, 4), np.nan), "non-finite"),
])
def test_bad_volumes(data, affine, needle):
    with pytest.raises(VolumeError, match=needle):
        Volume(data, affine)


@pytest.mark.parametrize("affine, match", [
    (np.diag([3e38, 1, 1, 1]), "spacing"),
    (np.diag([1, 1e-30, 1, 1]), "spacing"),
    (np.array([[1, 0, 0, 1e30], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]), "beyond"),
])
def test_absurd_but_finite_geometry_is_refused(affine, match, recwarn):
    import warnings

    from glmip.volume import VolumeError

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning on the way
        with pytest.raises(VolumeError, match=match):
            Volume(np.zeros((4, 4, 4), np.uint8), affine)
