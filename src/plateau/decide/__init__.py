"""plateau.decide: a patient's absolute benefits and harms of each maintenance option.

>>> from plateau.decide import decide, parse_profile
>>> decision = decide(parse_profile({"age": 60, "sex": "male", "transplant_status": "post_asct",
...                                  "response": "VGPR"}))          # doctest: +SKIP
>>> print(decision.summary())                                       # doctest: +SKIP

* :mod:`plateau.decide.profile` - the profile and its validation (precise messages).
* :mod:`plateau.decide.model` - baseline curves, S1 = S0^HR, RMST, NNT, simulation helpers.
* :mod:`plateau.rules.decision` - cited tables: R-ISS adjustment, routes, subgroup matchers.
* :mod:`plateau.decide.engine` - :func:`decide`, options per setting, harms, burden, flags.
* :mod:`plateau.decide.store` - snapshots pinned to the evidence version (memory, JSON files; one
  interface).
"""

from plateau.decide.engine import (
    DEFAULT_N_SIMS,
    DEFAULT_SEED,
    HARM_TARGETS,
    STANDARD_HORIZONS,
    decide,
    reproduce,
)
from plateau.decide.profile import (
    CHOICES,
    Profile,
    ProfileError,
    load_profile,
    parse_profile,
    profile_from_form,
)
from plateau.decide.results import (
    Decision,
    Flag,
    Harm,
    HorizonResult,
    OptionResult,
    OutcomeResult,
    Per100,
)
from plateau.decide.store import DecisionStore, MemoryDecisionStore, SnapshotStore

__all__ = [
    "CHOICES",
    "DEFAULT_N_SIMS",
    "DEFAULT_SEED",
    "Decision",
    "DecisionStore",
    "MemoryDecisionStore",
    "SnapshotStore",
    "Flag",
    "HARM_TARGETS",
    "Harm",
    "HorizonResult",
    "OptionResult",
    "OutcomeResult",
    "Per100",
    "Profile",
    "ProfileError",
    "STANDARD_HORIZONS",
    "decide",
    "load_profile",
    "parse_profile",
    "profile_from_form",
    "reproduce",
]
