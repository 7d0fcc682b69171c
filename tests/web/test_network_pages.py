"""The "which maintenance?" networks in the web app and the API."""

from __future__ import annotations

import math

from plateau.analysis.network import which_maintenance
from plateau.evidence import load_bundled


def test_networks_api_matches_the_analysis_layer(client):
    data = client.get("/api/v1/networks").json()
    expected = which_maintenance(load_bundled())
    assert data["evidence_version"] == load_bundled().version
    assert [n["id"] for n in data["networks"]] == [f"nma-{s}-{o.lower()}" for s, o in expected]
    post_pfs = next(n for n in data["networks"] if n["id"] == "nma-post_asct-pfs")
    network = expected[("post_asct", "PFS")]
    main = network.main
    scores = dict(zip(main.result.treatments, main.result.p_scores, strict=True))
    for row in post_pfs["ranking"]:
        assert row["p_score"] == scores[row["treatment"]]
        if "hr" in row:
            vs = main.result.effects_vs(main.reference)[row["treatment"]]
            assert math.isclose(row["hr"], math.exp(vs["estimate"]), rel_tol=1e-12)
    assert {t for e in post_pfs["edge_trials"] for t in e["trials"]} == {
        e.trial_id for e in network.edges
    }


def test_networks_page_shows_graphs_rankings_and_edge_trials(client):
    html = client.get("/networks").text
    assert html.count("<svg") >= 4
    assert "P-score" in html and "Trials behind each edge" in html
    for network in which_maintenance(load_bundled()).values():
        for edge in network.edges:
            assert f"/evidence/{edge.trial_id}" in html


def test_every_ranking_has_its_evidence_beside_it_and_a_league_table(client):
    """Carfilzomib + lenalidomide ranks first after ASCT on one 180-patient open-label trial:
    the page must say so next to the ranking, and show the league table."""
    from plateau.report.networks import evidence_strength, league_table

    html = client.get("/networks").text
    assert "League table" in html and 'class="data league"' in html
    network = which_maintenance(load_bundled())[("post_asct", "PFS")]
    strength = evidence_strength(network, load_bundled())
    krd = strength["carfilzomib + lenalidomide"]
    assert krd["trials"] == 1 and krd["patients"] == 180 and krd["open_label"] == 1
    assert krd["weak"] and not krd["direct"]
    assert krd["caution"] in html.replace("&#43;", "+")
    assert "limited evidence" in html
    # the league table printed by the CLI and shown on the page is the same table
    league = league_table(network.main.result)
    for row in league[1:]:
        for cell in row[1:]:
            if cell and cell != row[0]:
                assert cell in html
