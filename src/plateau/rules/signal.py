"""Design rule of the per-patient benefit-harm signal (DESIGN tag).

Evaluation lives in :mod:`plateau.monitor.signal`.
"""

from __future__ import annotations

from plateau.rules.citations import PLATEAU, Rule

RULES = {
    r.id: r
    for r in (
        Rule(
            "signal-benefit-harm",
            "benefit-harm signal: confirmed response depth/duration set against grade >= 3 "
            "toxicity and QoL decline beyond the MID; 'review' when harm occurs without a response "
            "deeper than SD or with progression",
            PLATEAU,
            "plateau.monitor.signal",
            "DESIGN",
        ),
    )
}
