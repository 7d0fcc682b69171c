"""Live numbers in FAQ answers: the reference grammar, its resolution and fingerprints.

Grammar
-------
A reference is ``{{ NAME ARG ARG ... }}`` inside an answer; ``NAME`` is one of :data:`NAMES`
and each ``ARG`` is ``key=value`` (or ``grade>=3``); values are ``[A-Za-z0-9_.-]+``.  A literal
``{{`` is written ``\\{{``.

=============================  =============================================================
``pooled.hr``  (alias ``hr``)  pooled ratio (HR, or RR for harms) of an analysis
``pooled.ci``  (alias ``ci``)  its 95% confidence interval, ``0.55–0.95``
``pooled.hr_ci`` (``hr_ci``)   both, ``0.74 (0.55–0.95)``
``pooled.k``   (alias ``k``)   number of trials pooled
``pooled.n``                   number of randomised patients in them
``pooled.i2``                  I² heterogeneity (percent)
``pooled.trials``              the trials pooled, by name
``decide.<o>_<what>_per_100``  ``o`` = ``pfs`` or ``os``; ``what`` = ``gain`` (difference with
                               its 95% simulation interval), ``with`` or ``without``:
                               people of 100 event-free at ``horizon`` years
``harm.risk``                  per 100 patients with the agent vs without, per trial
=============================  =============================================================

Arguments: pooled references take ``analysis=`` (a built-in analysis of
:mod:`plateau.analysis.builtin`, through :data:`ANALYSIS_RENAMES`), optionally ``setting=``
(post_asct, non_transplant, mixed) and ``agent=`` to restrict it.  ``decide.*`` take
``profile=`` (a name in the library's ``profiles.yaml``), ``agent=`` and ``horizon=`` (years,
default 5).  ``harm.risk`` takes ``ae=`` (a harm of :data:`plateau.decide.HARM_TARGETS`),
``grade>=3`` or ``grade=any`` (the grade the decision aid uses for that harm), ``agent=`` and
``profile=``.

Every reference resolves through :func:`plateau.analysis.run_analysis` or
:func:`plateau.decide.decide`, i.e. the same numbers as the analysis pages and the decision aid,
and ratios and intervals are written by the shared formatter of
:mod:`plateau.evidence.vocabulary` (``format_ratio``, ``format_interval``, ``format_ratio_ci``),
so they read exactly as on the analysis pages, in the report and in the CLI.

Fingerprints
------------
Each referenced *result* (one analysis, one decision outcome, one harm) has a
:class:`~plateau.faq.model.Fingerprint`: its main numbers (``values``), its interval and the
interval's no-effect value, the trial ids and the reports used.  A review stores them; the
staleness check (:mod:`plateau.faq.staleness`) compares them with today's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from plateau.analysis import AnalysisResult, AnalysisSpec, builtin_specs, run_analysis
from plateau.evidence.base import EvidenceBase
from plateau.evidence.schema import Agent, Setting
from plateau.evidence.vocabulary import format_interval, format_ratio, format_ratio_ci
from plateau.faq.model import Entry, FaqError, Fingerprint

#: old built-in analysis id -> new id.  When plateau.analysis renames a built-in analysis, add
#: one line here and every FAQ entry keeps resolving (ids are checked at validation).
ANALYSIS_RENAMES: dict[str, str] = {}

REF = re.compile(r"(?<!\\)\{\{(.*?)\}\}", re.DOTALL)
_ARG = re.compile(r"^([a-z_]+)(>=|=)([A-Za-z0-9_.\-]+)$")
_NAME = re.compile(r"^[a-z0-9_.]+$")

POOLED = (
    "pooled.hr",
    "pooled.ci",
    "pooled.hr_ci",
    "pooled.k",
    "pooled.n",
    "pooled.i2",
    "pooled.trials",
)
ALIASES = {"hr": "pooled.hr", "ci": "pooled.ci", "hr_ci": "pooled.hr_ci", "k": "pooled.k"}
DECIDE = tuple(
    f"decide.{o}_{w}_per_100" for o in ("pfs", "os") for w in ("gain", "with", "without")
)
HARM = ("harm.risk",)
NAMES = POOLED + DECIDE + HARM + tuple(ALIASES)
_ARGS: dict[str, tuple[set[str], set[str]]] = {  # kind -> (required, optional)
    "pooled": ({"analysis"}, {"setting", "agent"}),
    "decide": ({"profile", "agent"}, {"horizon"}),
    "harm": ({"ae", "grade", "agent", "profile"}, set()),
}


@dataclass(frozen=True)
class Ref:
    """One parsed reference: canonical name and arguments (``grade>=3`` -> ``{"grade": ">=3"}``)."""

    raw: str
    name: str
    args: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> str:
        return self.name.split(".")[0]

    def arg(self, key: str, default: str | None = None) -> str | None:
        return dict(self.args).get(key, default)

    def req(self, key: str) -> str:
        """A required argument (present: :func:`parse_ref` checked it)."""
        value = dict(self.args).get(key)
        if value is None:
            raise FaqError(f"reference {self.raw}: missing {key}")
        return value


def parse_ref(raw: str, origin: str) -> Ref:
    """Parse the inside of ``{{ ... }}``; errors name ``origin`` and the reference."""
    tokens = raw.split()
    shown = "{{ " + " ".join(tokens) + " }}"
    if not tokens or not _NAME.match(tokens[0]):
        raise FaqError(f"{origin}: reference {shown}: starts with a name, e.g. pooled.hr")
    name = ALIASES.get(tokens[0], tokens[0])
    if name not in NAMES:
        raise FaqError(
            f"{origin}: reference {shown}: unknown name {tokens[0]!r}; known: {', '.join(NAMES)}"
        )
    args: dict[str, str] = {}
    for token in tokens[1:]:
        m = _ARG.match(token)
        if not m:
            raise FaqError(f"{origin}: reference {shown}: argument {token!r} is not key=value")
        key, op, value = m.groups()
        if op == ">=" and key != "grade":
            raise FaqError(f"{origin}: reference {shown}: only grade takes >= ({token!r})")
        if key in args:
            raise FaqError(f"{origin}: reference {shown}: {key} given twice")
        args[key] = (">=" + value) if op == ">=" else value
    kind = name.split(".")[0]
    required, optional = _ARGS[kind]
    missing = sorted(required - set(args))
    if missing:
        raise FaqError(f"{origin}: reference {shown}: missing {', '.join(missing)}")
    extra = sorted(set(args) - required - optional)
    if extra:
        raise FaqError(f"{origin}: reference {shown}: unknown argument {', '.join(extra)}")
    return Ref(shown, name, tuple(sorted(args.items())))


def find_refs(text: str, origin: str) -> list[Ref]:
    return [parse_ref(m.group(1), origin) for m in REF.finditer(text)]


# ------------------------------------------------------------------------------------------------
# resolution
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceLink:
    trial_id: str
    trial_name: str
    citation: str
    link: str | None
    location: str | None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class Resolved:
    """A reference resolved on one evidence base: what the reader sees and where it comes from."""

    ref: Ref
    text: str
    key: str  #: the fingerprint key of the underlying result
    fingerprint: Fingerprint
    link: str  #: the page showing the whole result (analysis or decision aid)
    link_label: str
    sources: tuple[SourceLink, ...] = ()
    available: bool = True
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.ref.raw,
            "name": self.ref.name,
            "text": self.text,
            "result": self.key,
            "available": self.available,
            "note": self.note,
            "link": self.link,
            "link_label": self.link_label,
            "fingerprint": self.fingerprint.model_dump(mode="json"),
            "sources": [s.to_dict() for s in self.sources],
        }


def _people(value: float) -> int:
    return int(round(value))


def resolve_builtin(name: str) -> AnalysisSpec | None:
    """The built-in spec behind an FAQ analysis name (after :data:`ANALYSIS_RENAMES`)."""
    return builtin_specs().get(ANALYSIS_RENAMES.get(name, name))


@dataclass
class Resolver:
    """Resolves references on one evidence base; results are computed once and shared."""

    base: EvidenceBase
    profiles: dict[str, dict[str, Any]]
    _analyses: dict[str, tuple[AnalysisSpec, AnalysisResult, str]] = field(default_factory=dict)
    _decisions: dict[tuple[str, float], Any] = field(default_factory=dict)

    # ---- checks that need no evidence numbers -------------------------------------------------

    def check(self, ref: Ref, origin: str) -> None:
        """Raise FaqError (naming ``origin`` and the reference) when it cannot resolve."""

        def bad(msg: str) -> FaqError:
            return FaqError(f"{origin}: reference {ref.raw}: {msg}")

        agent = ref.arg("agent")
        if agent is not None and agent not in {a.value for a in Agent}:
            raise bad(f"agent: unknown agent {agent!r}")
        if ref.kind == "pooled":
            if resolve_builtin(ref.req("analysis")) is None:
                raise bad(
                    f"analysis: no built-in analysis {ref.arg('analysis')!r}; known: "
                    f"{', '.join(builtin_specs())}"
                )
            setting = ref.arg("setting")
            if setting is not None and setting not in {s.value for s in Setting}:
                raise bad(f"setting: unknown setting {setting!r}")
            return
        if ref.arg("profile") not in self.profiles:
            raise bad(
                f"profile: no profile {ref.arg('profile')!r} in the library's profiles.yaml"
                + (f" (known: {', '.join(self.profiles)})" if self.profiles else "")
            )
        if ref.kind == "decide":
            try:
                horizon = float(ref.arg("horizon") or "5")
            except ValueError:
                raise bad("horizon: a number of years") from None
            if not 0.5 <= horizon <= 15:
                raise bad("horizon: between 0.5 and 15 years")
        if ref.kind == "harm":
            from plateau.decide import HARM_TARGETS

            targets = {t.value: g for t, g, _ in HARM_TARGETS}
            if ref.arg("ae") not in targets:
                raise bad(f"ae: not a harm of the decision aid; known: {', '.join(targets)}")
            if ref.arg("grade") != targets[ref.req("ae")]:
                want = "grade>=3" if targets[ref.req("ae")] == ">=3" else "grade=any"
                raise bad(f"grade: the decision aid counts {ref.arg('ae')} as {want}")

    # ---- analyses -------------------------------------------------------------------------------

    def _analysis(self, ref: Ref) -> tuple[str, AnalysisSpec, AnalysisResult, str]:
        name, setting, agent = ref.req("analysis"), ref.arg("setting"), ref.arg("agent")
        key = "pooled:" + name + (f"@{setting}" if setting else "") + (f"+{agent}" if agent else "")
        if key not in self._analyses:
            spec = resolve_builtin(name)
            assert spec is not None  # checked by check()
            link = f"/analyses/builtin/{spec.id}"
            if setting or agent:
                update: dict[str, Any] = {"subgroup_by": None, "id": f"{spec.id}-faq"}
                if setting:
                    update["settings"] = (Setting(setting),)
                if agent:
                    update["agents"] = (Agent(agent),)
                spec = spec.model_copy(update=update)
                link = "/analyses?" + analysis_query(spec)
            self._analyses[key] = (spec, run_analysis(spec, self.base), link)
        return (key, *self._analyses[key])

    def _pooled(self, ref: Ref) -> Resolved:
        key, spec, result, link = self._analysis(ref)
        studies = result.studies
        reports = tuple(
            sorted(
                f"{s.contribution.trial_id}: {s.contribution.report}"
                + (" (earlier report)" if s.contribution.earlier_report else "")
                for s in studies
            )
        )
        trials = tuple(sorted(s.contribution.trial_id for s in studies))
        sources = tuple(
            SourceLink(
                s.contribution.trial_id,
                s.contribution.trial_name,
                s.contribution.source.citation,
                s.contribution.source.link,
                s.contribution.source.location,
            )
            for s in studies
        )
        label = spec.title + (
            f" ({', '.join(x.value for x in spec.settings)})"
            if spec.settings and spec.id.endswith("-faq")
            else ""
        )
        p = result.pooled
        if p is None:
            fp = Fingerprint(label=label, values={"estimate": None}, null=1.0)
            if ref.name in ("pooled.k", "pooled.trials"):  # "no trial" is itself a live answer
                text = "0" if ref.name == "pooled.k" else "none"
                return Resolved(ref, text, key, fp, link, label, ())
            return Resolved(
                ref, "[no pooled result]", key, fp, link, label, (), False,
                "no trial matches this analysis on the current evidence",
            )  # fmt: skip
        fp = Fingerprint(
            label=label,
            values={"estimate": round(p.estimate, 4)},
            ci=(round(p.ci_low, 4), round(p.ci_high, 4)),
            null=1.0,
            trials=trials,
            reports=reports,
        )
        name = ref.name
        if name == "pooled.hr":
            text = format_ratio(p.estimate)
        elif name == "pooled.ci":
            text = format_interval(p.ci_low, p.ci_high)
        elif name == "pooled.hr_ci":
            text = format_ratio_ci(p.estimate, p.ci_low, p.ci_high)
        elif name == "pooled.k":
            text = str(p.k)
        elif name == "pooled.n":
            text = f"{p.n_patients:,}" if p.n_patients else "an unreported number of"
        elif name == "pooled.i2":
            text = "not applicable (one trial)" if p.i2 is None else f"{p.i2:.0f}%"
        else:  # pooled.trials
            names = sorted({s.contribution.trial_name.split(" (")[0] for s in studies})
            text = ", ".join(names)
        return Resolved(ref, text, key, fp, link, label, sources)

    # ---- decisions and harms ------------------------------------------------------------------

    def _decision(self, profile: str, horizon: float):
        cache = (profile, horizon)
        if cache not in self._decisions:
            from plateau.decide import decide

            hz = None if horizon in (1.0, 3.0, 5.0) else horizon
            self._decisions[cache] = decide(self.profiles[profile], self.base, horizon_years=hz)
        return self._decisions[cache]

    def _option(self, ref: Ref, horizon: float):
        decision = self._decision(ref.req("profile"), horizon)
        agent = ref.arg("agent")
        option = next((o for o in decision.options if o.option == agent), None)
        return decision, option

    def _decide(self, ref: Ref) -> Resolved:
        horizon = float(ref.arg("horizon") or "5")
        outcome, what = ref.name.split(".")[1].split("_")[:2]
        profile, agent = ref.arg("profile"), ref.arg("agent")
        key = f"decide:{profile}:{agent}:{outcome}:{horizon:g}y"
        label = (
            f"Decision aid, profile {profile}: {outcome.upper()} at {horizon:g} years with "
            f"{agent} maintenance vs none"
        )
        link = "/decide"
        decision, option = self._option(ref, horizon)
        result = getattr(option, outcome) if option is not None else None
        h = result.at(horizon) if result is not None and result.available else None
        if h is None:
            reason = next(
                (n["reason"] for n in decision.not_available if n["option"] == agent),
                result.reason if result is not None else "no estimate for this option",
            )
            fp = Fingerprint(label=label, values={"gain": None}, null=0.0)
            return Resolved(ref, "[not available]", key, fp, link, label, (), False, reason)
        assert result is not None  # h is not None only when result is
        trials = tuple(sorted(t["trial_id"] for t in result.trials))
        sources = tuple(
            SourceLink(
                t["trial_id"],
                t.get("label") or t["trial_id"],
                t.get("citation") or "",
                t.get("link"),
                t.get("location"),
            )
            for t in result.trials
        )
        hr = result.hazard_ratio or {}
        fp = Fingerprint(
            label=label,
            values={
                "gain": round(h.difference.estimate, 2),
                "with": round(h.with_option.estimate, 2),
                "without": round(h.without.estimate, 2),
                "hazard_ratio": round(hr["estimate"], 4) if hr.get("estimate") else None,
            },
            ci=(round(h.difference.low, 2), round(h.difference.high, 2)),
            null=0.0,
            trials=trials,
            reports=tuple(
                sorted(
                    f"{t['trial_id']}: {t.get('label', '')}, {t.get('outcome_used', '')}"
                    for t in result.trials
                )
            ),
        )
        if what == "gain":
            n, between = _people(h.difference.estimate), h.difference.difference_between()
            more = "more" if n >= 0 else "fewer"
            text = f"{abs(n)} {more} of every 100 ({between})"
        elif what == "with":
            text = f"{_people(h.with_option.estimate)} of 100"
        else:
            text = f"{_people(h.without.estimate)} of 100"
        note = "beyond the trials' follow-up (extrapolated)" if h.beyond_follow_up else None
        return Resolved(ref, text, key, fp, link, label, sources, True, note)

    def _harm(self, ref: Ref) -> Resolved:
        ae, agent, profile = ref.req("ae"), ref.req("agent"), ref.req("profile")
        key = f"harm:{profile}:{agent}:{ae}{ref.arg('grade')}"
        words = ae.replace("_", " ")
        label = f"Decision aid, profile {profile}: {words} with {agent} maintenance"
        decision, option = self._option(ref, 5.0)
        harms = [h for h in (option.harms if option else ()) if h.term == ae]
        if not harms:
            fp = Fingerprint(label=label, values={}, null=None)
            why = "no trial of this option reports it" if option else "option not available"
            return Resolved(ref, "[not reported]", key, fp, "/decide", label, (), False, why)
        values: dict[str, float | None] = {}
        parts = []
        for h in harms:
            values[f"{h.trial_id} with"] = (
                None if h.with_per_100 is None else round(h.with_per_100, 2)
            )
            values[f"{h.trial_id} without"] = (
                None if h.without_per_100 is None else round(h.without_per_100, 2)
            )
            if h.with_per_100 is None:
                parts.append(f"{h.statement or 'reported without a number'} ({h.trial_name})")
                continue
            without = (
                f" vs {h.without_per_100:.0f} without"
                if h.without_per_100 is not None
                else " (control arm not reported)"
            )
            where = f"{h.grade_words}; {h.trial_name.split(' (')[0]}, {h.timeframe}"
            parts.append(f"{h.with_per_100:.0f} {h.unit} with {agent}{without} ({where})")
        trials = tuple(sorted({h.trial_id for h in harms}))
        fp = Fingerprint(label=label, values=values, trials=trials)
        sources = tuple(
            SourceLink(h.trial_id, h.trial_name, h.citation, h.link, h.location) for h in harms
        )
        return Resolved(ref, "; ".join(parts), key, fp, "/decide", label, sources)

    def resolve(self, ref: Ref) -> Resolved:
        if ref.kind == "pooled":
            return self._pooled(ref)
        if ref.kind == "decide":
            return self._decide(ref)
        return self._harm(ref)

    def fingerprints(self, entry: Entry) -> dict[str, Fingerprint]:
        """The fingerprint of every result the entry refers to, by result key."""
        return {
            r.key: r.fingerprint
            for r in (self.resolve(ref) for ref in find_refs(entry.body, str(entry.path)))
        }


def analysis_query(spec: AnalysisSpec) -> str:
    """The analysis builder's query string for ``spec`` (the page shows the same result)."""
    pairs: list[tuple[str, str]] = [("title", spec.title), ("outcome", spec.outcome)]
    pairs += [("agent", a.value) for a in spec.agents]
    pairs += [("setting", s.value) for s in spec.settings]
    pairs += [("comparison_kind", k.value) for k in spec.comparison_kinds]
    if spec.adverse_event is not None:
        pairs += [
            ("adverse_event", spec.adverse_event.value),
            ("adverse_event_grade", spec.adverse_event_grade),
        ]
    return urlencode(pairs)
