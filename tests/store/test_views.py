"""The store's views for the map and the evidence panel."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from plumetrace.store.views import envelope_indices


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=3000), st.integers(1, 300))
def test_min_max_decimation_keeps_the_envelope(values, buckets):
    v = np.asarray(values)
    idx = envelope_indices(v, buckets)
    assert len(idx) <= max(2 * buckets, len(v)) and np.all(np.diff(idx) > 0)
    assert v[idx].max() == v.max() and v[idx].min() == v.min()
    if len(v) > 2 * buckets:
        assert len(idx) <= 2 * buckets


def test_a_narrow_peak_survives_and_an_index_map_is_applied():
    v = np.zeros(1300)
    v[777] = 9.0
    v[100] = np.nan
    idx = envelope_indices(v, 200, np.arange(1300) + 5000)
    assert 5777 in idx and len(idx) <= 400 and idx.min() >= 5000
