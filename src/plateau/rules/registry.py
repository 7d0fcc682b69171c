"""Every cited clinical rule of plateau by id: the union of the rule tables in
:mod:`plateau.rules`."""

from __future__ import annotations

from plateau.rules import ctcae as C
from plateau.rules import dosing as D
from plateau.rules import imwg as I
from plateau.rules import qol as Q
from plateau.rules import signal as SIG
from plateau.rules.citations import Rule

ALL_RULES: dict[str, Rule] = {
    **I.RULES,
    **D.RULES,
    **{t.rule.id: t.rule for t in C.LAB_TERMS.values()},
    **{t.rule.id: t.rule for t in C.EVENT_TERMS.values()},
    C.RULE_DEFAULT_LIMITS.id: C.RULE_DEFAULT_LIMITS,
    C.RULE_CREATININE_BASELINE.id: C.RULE_CREATININE_BASELINE,
    C.RULE_CALCIUM_SI.id: C.RULE_CALCIUM_SI,
    C.RULE_TOLERANCE.id: C.RULE_TOLERANCE,
    **Q.RULES,
    **SIG.RULES,
}
