"""Network graph and forest plot render (PNG) from real NMA results."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg

from plateau.meta.network import nma
from plateau.report.network_plots import forest_vs_reference, network_graph, save

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "network_hasselblad1998.json"


def test_graph_and_forest_render(tmp_path):
    f = json.loads(FIX.read_text())
    p = f["pairs"]
    res = nma(
        p["study"],
        p["treat1"],
        p["treat2"],
        p["TE"],
        p["seTE"],
        reference="no_contact",
        small_values="undesirable",
    )
    edges = {}
    for s, a, b in zip(p["study"], p["treat1"], p["treat2"], strict=True):
        edges.setdefault(tuple(sorted((a, b))), []).append(str(s))
    g = save(
        network_graph(res.treatments, edges, title="Smoking", reference="no_contact"),
        tmp_path / "g.png",
    )
    fo = save(forest_vs_reference(res, scale="OR", title="Smoking"), tmp_path / "f.png")
    for path in (g, fo):
        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 400
        assert img[..., :3].std() > 0.05  # not a blank canvas
