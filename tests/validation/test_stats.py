"""Chang & Hanna (2004) statistics against values computed by hand."""

import math

import pytest

from plumetrace.validation.stats import evaluation_statistics


def test_tiny_dataset_by_hand():
    co = [10.0, 20.0, 40.0, 80.0]
    cp = [12.0, 8.0, 40.0, 200.0]
    s = evaluation_statistics(co, cp)
    mo, mp = 150 / 4, 260 / 4  # 37.5 and 65.0
    assert s.N == 4
    assert s.FB == pytest.approx((mo - mp) / (0.5 * (mo + mp)))  # -0.53659
    assert s.NMSE == pytest.approx(((2**2 + 12**2 + 0 + 120**2) / 4) / (mo * mp))  # 1.4923
    logs = [math.log(o / p) for o, p in zip(co, cp, strict=True)]
    assert s.MG == pytest.approx(math.exp(sum(logs) / 4))
    assert s.VG == pytest.approx(math.exp(sum(v * v for v in logs) / 4))
    assert s.FAC2 == pytest.approx(0.5)  # 12/10 and 40/40 inside; 8/20 = 0.4 and 200/80 = 2.5 outside


def test_perfect_model():
    s = evaluation_statistics([1, 2, 3], [1, 2, 3])
    assert (s.FB, s.NMSE, s.MG, s.VG, s.FAC2) == (0.0, 0.0, 1.0, 1.0, 1.0)


def test_threshold_handles_zeros():
    s0 = evaluation_statistics([0.0, 5.0, 10.0], [0.0, 5.0, 0.0])
    assert s0.FAC2 == pytest.approx(1 / 3)  # 0/0 is not "within a factor of two" without a threshold
    assert s0.MG == 1.0  # only the positive pair enters the logarithms
    s1 = evaluation_statistics([0.0, 5.0, 10.0], [0.0, 5.0, 0.0], threshold=1.0)
    assert s1.FAC2 == pytest.approx(2 / 3)
    assert s1.MG == pytest.approx(math.exp(math.log(10.0) / 3))


def test_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        evaluation_statistics([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        evaluation_statistics([-1.0], [1.0])
    assert evaluation_statistics([], []).N == 0
