"""Clinical rule tables and their citations: the one home used by monitoring and decisions.

Each rule is a :class:`plateau.rules.citations.Rule` (id, statement, source document, where in
it, confidence tag C1/C2/C3/UNCONFIRMED/DESIGN).  Modules: :mod:`citations` (sources, Rule),
:mod:`units` (analytes, units, conversions), :mod:`imwg` (response/progression), :mod:`ctcae`
(CTCAE v5.0 terms), :mod:`dosing` (maintenance dose rules, creatinine clearance, renal
restrictions), :mod:`qol` (QLQ-C30/MY20 scales and MIDs), :mod:`signal` (benefit-harm design
rule), :mod:`decision` (prognostic adjustment, routes, safety flags of decision support) and
:mod:`registry` (every rule by id).  Evaluation lives above, in :mod:`plateau.monitor` and
:mod:`plateau.decide`; neither keeps its own copy of a threshold.
"""
