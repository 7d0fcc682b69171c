"""Result objects of plateau.meta are frozen all the way down: their arrays are read-only.

``frozen=True`` only stops rebinding a field; these tests check that writing *into* an array a
result holds fails too, for every result type, and that the caller's input arrays stay writable
(the results hold read-only views, they do not lock the caller's data).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from plateau import meta
from plateau.meta.network import network_data, nma, node_split, rank_probabilities

YI = np.array([-0.35, -0.12, -0.51, 0.05, -0.28, -0.40])
VI = np.array([0.04, 0.02, 0.09, 0.03, 0.05, 0.06])
BATCH_Y = np.vstack([YI, YI + 0.1])
BATCH_V = np.vstack([VI, VI * 1.5])
AI, BI, CI, DI = (
    np.array(x) for x in ([12, 8, 20, 5], [88, 92, 80, 45], [20, 15, 28, 9], [80, 85, 72, 41])
)


def _results():
    yield "pool", meta.pool(YI, VI)
    yield "pool batch", meta.pool(BATCH_Y, BATCH_V)
    yield "escalc", meta.escalc("OR", ai=AI, bi=BI, ci=CI, di=DI)
    yield "tau2_confint", meta.tau2_confint(BATCH_Y, BATCH_V)
    yield "mantel_haenszel", meta.mantel_haenszel(ai=AI, bi=BI, ci=CI, di=DI, measure="OR")
    yield "peto", meta.peto(ai=AI, bi=BI, ci=CI, di=DI)
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    reg = meta.meta_regression(YI, VI, x)
    yield "meta_regression", reg
    yield "predict", reg.predict(np.array([[2.5], [3.5]]))
    yield "subgroup_analysis", meta.subgroup_analysis(YI, VI, np.array(list("aabbab")))
    yield "leave_one_out", meta.leave_one_out(YI, VI)
    yield "cumulative", meta.cumulative(YI, VI)
    yield "influence", meta.influence(YI, VI)
    yield "egger_test batch", meta.egger_test(BATCH_Y, BATCH_V)
    yield "rank_correlation_test batch", meta.rank_correlation_test(BATCH_Y, BATCH_V)
    yield "trim_and_fill", meta.trim_and_fill(YI, VI)
    yield "fail_safe_n batch", meta.fail_safe_n(BATCH_Y, BATCH_V)
    yield "pet_peese batch", meta.pet_peese(BATCH_Y, BATCH_V)
    data = network_data(
        ["s1", "s2", "s3", "s4", "s5"],
        ["A", "A", "B", "A", "B"],
        ["B", "C", "C", "B", "C"],
        [-0.3, -0.5, -0.1, -0.25, -0.2],
        [0.15, 0.2, 0.18, 0.16, 0.2],
    )
    yield "network_data", data
    net = nma(data, reference="A")
    yield "nma", net
    yield "rank_probabilities", rank_probabilities(net, n_sim=200)


def _arrays(value, path):
    if isinstance(value, np.ndarray):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _arrays(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            yield from _arrays(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _arrays(v, f"{path}[{k!r}]")


RESULTS = list(_results())


@pytest.mark.parametrize("name,result", RESULTS, ids=[n for n, _ in RESULTS])
def test_every_array_of_a_result_is_read_only(name, result):
    arrays = [(p, a) for p, a in _arrays(result, name) if a.size]
    assert arrays, f"{name}: no array fields found (the test would prove nothing)"
    for path, array in arrays:
        assert not array.flags.writeable, f"{path} is writable"
        with pytest.raises(ValueError, match="read-only"):
            array.reshape(-1)[0] = array.reshape(-1)[0]


def test_the_callers_inputs_stay_writable():
    y, v = YI.copy(), VI.copy()
    result = meta.escalc("OR", ai=AI, bi=BI, ci=CI, di=DI)
    meta.pool(y, v)
    y[0] = 1.0  # no error: only the result's views are read-only
    assert y.flags.writeable and v.flags.writeable
    assert AI.flags.writeable
    assert not result.yi.flags.writeable


def test_node_split_holds_no_arrays_only_scalars():
    data = network_data(
        ["s1", "s2", "s3", "s4"],
        ["A", "A", "B", "A"],
        ["B", "C", "C", "B"],
        [-0.3, -0.5, -0.1, -0.25],
        [0.15, 0.2, 0.18, 0.16],
    )
    split = node_split(nma(data, reference="A"))
    assert not list(_arrays(split, "node_split"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.splits = ()


def test_a_frozen_result_still_rejects_rebinding_a_field():
    result = meta.pool(YI, VI)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.estimate = 0.0
