"""Contrast-based frequentist network meta-analysis (NMA).

Input is the *pairwise* format of netmeta: one row per pair of arms of a study,
``study, treat1, treat2, TE, seTE`` with ``TE`` the effect of ``treat1`` versus ``treat2`` on
the analysis scale (log hazard ratio, log odds ratio, mean difference ...).  A k-arm study
gives all of its k(k-1)/2 pairs.

Model
-----
Each study ``s`` with arms ``a_1 < ... < a_k`` (treatments in network order) is reduced to its
``k - 1`` *basic contrasts* ``y_sj = theta_{a_j} - theta_{a_1}`` against its first arm.  When the
pairwise variances of a multi-arm study decompose as ``seTE_ab^2 = v_a + v_b`` (exactly so for
effects computed from arm-level data: log odds, means, log rates), the basic contrasts have
covariance ``V_s = v_{a_1} J + diag(v_{a_2}, ..., v_{a_k})``: the variance of the shared
baseline arm off the diagonal.  The arm variances are the least-squares solution of
``v_a + v_b = seTE_ab^2`` (exact for ``k = 3``; for ``k >= 4`` the fit must reproduce every
``seTE_ab^2`` to a relative tolerance, otherwise the study's SEs are inconsistent).  The arm
effects of a multi-arm study are the weighted least-squares fit of ``theta_a - theta_b = TE_ab``
(weights: Rücker's reduced pairwise weights) and must reproduce every ``TE_ab`` within a
tolerance (netmeta's ``tol.multiarm``).  This is the reduction of Rücker (2012) and netmeta's
``multiarm()``: both give the same likelihood, hence the same estimates.

With ``y`` the stacked basic contrasts, ``X`` their contrast matrix (+1 for the arm, -1 for the
baseline, reference column dropped) and ``V`` the block-diagonal covariance,

    y = X d + u + e,   e ~ N(0, V),   u ~ N(0, tau^2 B),

where ``B`` has 1 on the diagonal and 1/2 between two contrasts of the same study (every
comparison has heterogeneity variance tau^2 and the consistency equations hold for the random
effects too: Higgins & Whitehead 1996; Lu & Ades 2004).  This is metafor's
``rma.mv(yi, V, mods = ~ contrast columns - 1, random = ~ comp | study, rho = 1/2)`` and the
model of netmeta (Rücker 2012).  Given ``tau^2`` the estimate is generalised least squares,
``d = (X' M^-1 X)^-1 X' M^-1 y`` with ``M = V + tau^2 B``.

``tau^2`` is estimated by REML or ML (maximising the (restricted) likelihood by Fisher scoring,
as metafor's ``rma.mv``), or by the generalised DerSimonian-Laird method of moments
(Jackson, White & Riley 2012; netmeta's default, Rücker 2012 eq. A.2),
``tau^2 = max(0, (Q - df) / tr(P_0 B))`` with ``P_0 = W - W X (X'WX)^-1 X'W``, ``W = V^-1``.

Heterogeneity and inconsistency
-------------------------------
``Q_total = (y - X d_c)' V^-1 (y - X d_c)`` (common-effect fit), ``df = n_contrasts - (T - 1)``.
It splits (Krahn, Binder & König 2013; netmeta's ``decomp.design``) into ``Q_within``, the sum
over designs (sets of treatments compared in a study) of the Q of a model with one free
parameter set per design, and ``Q_between = Q_total - Q_within``: the design-by-treatment
interaction test of Higgins et al. (2012) under common effects.  Under random effects the
interaction test is the Wald test of the inconsistency parameters of the full
design-by-treatment interaction model, ``Q_total(M_w) - Q_within(M_w)`` with ``M_w`` built from
tau^2 of that full model (``tau2_within``, same estimator as the main fit).

Ranking
-------
P-scores (Rücker & Schwarzer 2015): ``P_i = 1/(T-1) sum_{j != i} Phi((d_j - d_i)/se_ij)`` when
small values are desirable (log HR of death or progression), ``Phi((d_i - d_j)/se_ij)``
otherwise.  :func:`rank_probabilities` adds resampling SUCRA (Salanti, Ades & Ioannidis 2011),
which converges to the P-score.

Node-splitting
--------------
:func:`node_split` separates direct and indirect evidence by back-calculation (König, Krahn &
Binder 2013; netmeta's ``netsplit`` default): the direct estimate of ``a`` vs ``b`` pools the
studies comparing them with Rücker's reduced weights (``tau^2`` of the network added), the
indirect estimate is ``(d_nma/v_nma - d_dir/v_dir) / (1/v_nma - 1/v_dir)`` with variance
``1/(1/v_nma - 1/v_dir)``.

References
----------
Rücker G. Network meta-analysis, electrical networks and graph theory. Res Synth Methods
2012;3:312-324.  Rücker G, Schwarzer G. Ranking treatments in frequentist network
meta-analysis works without resampling methods. BMC Med Res Methodol 2015;15:58.
Higgins JPT et al. Consistency and inconsistency in network meta-analysis: concepts and models
for multi-arm studies. Res Synth Methods 2012;3:98-110.  Krahn U, Binder H, König J. A
graphical tool for locating inconsistency in network meta-analyses. BMC Med Res Methodol
2013;13:35.  König J, Krahn U, Binder H. Visualizing the flow of evidence in network
meta-analysis and characterizing mixed treatment comparisons. Stat Med 2013;32:5414-5429.
Jackson D, White IR, Riley RD. Quantifying the impact of between-study heterogeneity in
multivariate meta-analyses. Stat Med 2012;31:3805-3820.  Viechtbauer W. Conducting
meta-analyses in R with the metafor package. J Stat Softw 2010;36(3).

Unlike the pairwise functions of :mod:`plateau.meta`, an NMA is one analysis per call: the
network's structure (treatments, designs) differs between analyses, so there is no batch axis.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, cast

import numpy as np
from scipy import stats

from plateau.errors import PlateauError
from plateau.meta._common import ConvergenceWarning, ReadOnlyArrays, jsonable

__all__ = [
    "NetworkData",
    "NetworkResult",
    "LeagueTable",
    "DesignDecomposition",
    "NodeSplit",
    "NodeSplitResult",
    "RankResult",
    "network_data",
    "connected_components",
    "nma",
    "node_split",
    "rank_probabilities",
]

METHODS = ("REML", "ML", "DL")
_TOL_MULTIARM_TE = 1e-3  # netmeta's tol.multiarm default
_TOL_MULTIARM_SE = 1e-3  # relative, on seTE^2 (netmeta checks only when tol.multiarm.se is set)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "NA"
    return f"{x:.{digits}f}"


def _pvalue_chi2(q: float, df: int) -> float:
    return float(stats.chi2.sf(q, df)) if df > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# input: pairwise rows -> per-study basic contrasts
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkData(ReadOnlyArrays):
    """Validated pairwise input reduced to basic contrasts (see module docstring).

    Attributes
    ----------
    treatments : all treatments of the input, in network order (first appearance unless given).
    studies : study labels in input order.
    study_arms : for each study, its arms (indices into ``treatments``) in increasing order.
    arm_effects : for each study, fitted arm effects (first arm 0), from the pairwise TEs.
    arm_variances : for each study, the arm variances ``v_a`` with ``seTE_ab^2 = v_a + v_b``.
    pairs : the input rows as ``(study, treat1, treat2, TE, seTE)``.
    """

    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    study_arms: tuple[tuple[int, ...], ...]
    arm_effects: tuple[np.ndarray, ...]
    arm_variances: tuple[np.ndarray, ...]
    pairs: tuple[tuple[str, str, str, float, float], ...]

    @property
    def designs(self) -> tuple[str, ...]:
        """Design of each study: its treatments in network order joined by ``:`` (netmeta)."""
        return tuple(":".join(self.treatments[t] for t in arms) for arms in self.study_arms)

    def subset(self, keep_treatments: Sequence[str]) -> NetworkData:
        """The studies whose arms all lie in ``keep_treatments`` (a connected component)."""
        keep = set(keep_treatments)
        idx = [
            i
            for i, arms in enumerate(self.study_arms)
            if all(self.treatments[t] in keep for t in arms)
        ]
        order = [t for t in self.treatments if t in keep]
        remap = {self.treatments.index(t): j for j, t in enumerate(order)}
        names = {self.studies[i] for i in idx}
        return NetworkData(
            treatments=tuple(order),
            studies=tuple(self.studies[i] for i in idx),
            study_arms=tuple(tuple(remap[t] for t in self.study_arms[i]) for i in idx),
            arm_effects=tuple(self.arm_effects[i] for i in idx),
            arm_variances=tuple(self.arm_variances[i] for i in idx),
            pairs=tuple(p for p in self.pairs if p[0] in names),
        )


def network_data(
    study: Sequence[Any],
    treat1: Sequence[Any],
    treat2: Sequence[Any],
    te: Sequence[float],
    se_te: Sequence[float],
    *,
    treatments: Sequence[str] | None = None,
    tol_multiarm: float = _TOL_MULTIARM_TE,
    tol_multiarm_se: float = _TOL_MULTIARM_SE,
) -> NetworkData:
    """Validate pairwise NMA input and reduce every study to its basic contrasts.

    Raises :class:`~plateau.errors.PlateauError` naming the row (1-based, in input order) or
    study for: unequal lengths, empty input, missing labels, a treatment compared with itself,
    non-finite TE, non-positive or non-finite seTE, a pair given twice in one study, a multi-arm
    study lacking some of its pairs, and multi-arm TEs or SEs that are not internally consistent.
    """
    n = len(study)
    lengths = {
        "study": n,
        "treat1": len(treat1),
        "treat2": len(treat2),
        "TE": len(te),
        "seTE": len(se_te),
    }
    if len(set(lengths.values())) != 1:
        raise PlateauError(f"NMA input columns differ in length: {lengths}")
    if n == 0:
        raise PlateauError("NMA input has no rows")
    te_arr = np.asarray(te, dtype=float)
    se_arr = np.asarray(se_te, dtype=float)
    rows: list[tuple[str, str, str, float, float]] = []
    for i in range(n):
        s, a, b = study[i], treat1[i], treat2[i]
        for name, v in (("study", s), ("treat1", a), ("treat2", b)):
            if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
                raise PlateauError(f"row {i + 1}: {name} is missing")
        s, a, b = str(s).strip(), str(a).strip(), str(b).strip()
        if a == b:
            raise PlateauError(f"row {i + 1} (study {s!r}): treat1 and treat2 are both {a!r}")
        if not math.isfinite(te_arr[i]):
            raise PlateauError(f"row {i + 1} (study {s!r}): TE is not a finite number")
        if not (math.isfinite(se_arr[i]) and se_arr[i] > 0):
            raise PlateauError(
                f"row {i + 1} (study {s!r}): seTE must be positive and finite, got {se_arr[i]!r}"
            )
        rows.append((s, a, b, float(te_arr[i]), float(se_arr[i])))

    # treatments in order of first appearance unless given
    seen: dict[str, None] = {}
    for _, a, b, _, _ in rows:
        seen.setdefault(a)
        seen.setdefault(b)
    if treatments is None:
        order = list(seen)
    else:
        order = [str(t) for t in treatments]
        missing = [t for t in seen if t not in order]
        if missing:
            raise PlateauError(
                f"treatments {missing} appear in the data but not in the treatment order"
            )
        order = [t for t in order if t in seen]
    index = {t: j for j, t in enumerate(order)}

    by_study: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_study.setdefault(r[0], []).append(i)

    studies, arms_all, effects_all, vars_all = [], [], [], []
    for s, idx in by_study.items():
        seen_pairs: dict[frozenset[str], int] = {}
        for i in idx:
            key = frozenset((rows[i][1], rows[i][2]))
            if key in seen_pairs:
                raise PlateauError(
                    f"row {i + 1} (study {s!r}): the pair {rows[i][1]!r} vs {rows[i][2]!r} "
                    f"is given twice (also row {seen_pairs[key] + 1})"
                )
            seen_pairs[key] = i
        arms = sorted({index[rows[i][1]] for i in idx} | {index[rows[i][2]] for i in idx})
        k = len(arms)
        if len(idx) != k * (k - 1) // 2:
            raise PlateauError(
                f"study {s!r} has {k} treatments but {len(idx)} pairs; a multi-arm study must "
                f"give all {k * (k - 1) // 2} pairs of its arms"
            )
        pos = {t: j for j, t in enumerate(arms)}
        # arm variances: least squares on v_a + v_b = seTE_ab^2
        A = np.zeros((len(idx), k))
        tev = np.empty(len(idx))
        var = np.empty(len(idx))
        for ri, i in enumerate(idx):
            ja, jb = pos[index[rows[i][1]]], pos[index[rows[i][2]]]
            A[ri, ja] = 1.0
            A[ri, jb] = 1.0
            tev[ri] = rows[i][3]
            var[ri] = rows[i][4] ** 2
        if k == 2:
            # only v_a + v_b matters for a two-arm study; theta[1] = arm 1 vs arm 0
            v = np.array([0.0, var[0]])
            sign = 1.0 if pos[index[rows[idx[0]][1]]] == 1 else -1.0
            theta = np.array([0.0, sign * tev[0]])
        else:
            v, *_ = np.linalg.lstsq(A, var, rcond=None)
            resid = A @ v - var
            worst = int(np.argmax(np.abs(resid) / var))
            if abs(resid[worst]) / var[worst] > tol_multiarm_se:
                i = idx[worst]
                raise PlateauError(
                    f"study {s!r}: the standard errors of its {k} arms are inconsistent "
                    f"(row {i + 1}, {rows[i][1]!r} vs {rows[i][2]!r}: seTE^2 = {var[worst]:.6g} "
                    f"but the arms' variances imply {var[worst] + resid[worst]:.6g}); "
                    f"give all pairs computed from the same arm-level data"
                )
            # contrasts of a multi-arm study must have a positive definite covariance
            cov = v[0] + np.diag(v[1:])
            if np.any(np.linalg.eigvalsh(cov) <= 0):
                raise PlateauError(
                    f"study {s!r}: the standard errors of its pairs imply a covariance matrix "
                    f"that is not positive definite (arm variances {np.round(v, 6).tolist()})"
                )
            # arm effects: weighted least squares on theta_a - theta_b = TE_ab
            D = np.zeros((len(idx), k))
            for ri, i in enumerate(idx):
                D[ri, pos[index[rows[i][1]]]] = 1.0
                D[ri, pos[index[rows[i][2]]]] = -1.0
            w = _reduced_weights_from_pairs(D, var, k)
            Dr = D[:, 1:]
            Wd = np.diag(w)
            theta1 = np.linalg.solve(Dr.T @ Wd @ Dr, Dr.T @ Wd @ tev)
            theta = np.concatenate([[0.0], theta1])
            res_te = D @ theta - tev
            worst = int(np.argmax(np.abs(res_te)))
            if abs(res_te[worst]) > tol_multiarm:
                i = idx[worst]
                raise PlateauError(
                    f"study {s!r}: the treatment effects of its {k} arms are inconsistent "
                    f"(row {i + 1}, {rows[i][1]!r} vs {rows[i][2]!r}: TE = {tev[worst]:.6g} but "
                    f"the other pairs imply {tev[worst] + res_te[worst]:.6g}); in a multi-arm "
                    f"study TE(A,C) must equal TE(A,B) + TE(B,C)"
                )
        studies.append(s)
        arms_all.append(tuple(arms))
        effects_all.append(theta)
        vars_all.append(v)
    return NetworkData(
        tuple(order),
        tuple(studies),
        tuple(arms_all),
        tuple(effects_all),
        tuple(vars_all),
        tuple(rows),
    )


def _reduced_weights_from_pairs(D: np.ndarray, var: np.ndarray, k: int) -> np.ndarray:
    """Rücker's reduced weights of the pairs of one k-arm study (netmeta ``multiarm()``).

    With ``R`` the k x k matrix of pairwise variances, ``L+ = -1/2 C R C`` (``C`` the centring
    matrix) is the pseudo-inverse of the study's Laplacian ``L``; the weight of pair ``ab`` is
    ``-L_ab`` (Rücker 2012, section 3.2).
    """
    R = np.zeros((k, k))
    for r in range(D.shape[0]):
        a = int(np.flatnonzero(D[r] == 1.0)[0])
        b = int(np.flatnonzero(D[r] == -1.0)[0])
        R[a, b] = R[b, a] = var[r]
    C = np.eye(k) - 1.0 / k
    L = np.linalg.pinv(-0.5 * C @ R @ C)
    w = np.empty(D.shape[0])
    for r in range(D.shape[0]):
        a = int(np.flatnonzero(D[r] == 1.0)[0])
        b = int(np.flatnonzero(D[r] == -1.0)[0])
        w[r] = -L[a, b]
    return w


def _arm_pair_weights(arm_var: np.ndarray, tau2: float) -> np.ndarray:
    """k x k reduced weights of a study whose pairwise variances are v_a + v_b + tau2."""
    k = len(arm_var)
    R = arm_var[:, None] + arm_var[None, :] + tau2
    np.fill_diagonal(R, 0.0)
    C = np.eye(k) - 1.0 / k
    L = np.linalg.pinv(-0.5 * C @ R @ C)
    W = -L
    np.fill_diagonal(W, 0.0)
    return W


# --------------------------------------------------------------------------------------------
# connectivity
# --------------------------------------------------------------------------------------------
def connected_components(data: NetworkData) -> list[tuple[str, ...]]:
    """Connected sub-networks: lists of treatments joined by at least one study.

    Returned largest first (ties in network order); each component in network order.
    """
    parent = list(range(len(data.treatments)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for arms in data.study_arms:
        for t in arms[1:]:
            ra, rb = find(arms[0]), find(t)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for t in range(len(data.treatments)):
        groups.setdefault(find(t), []).append(t)
    comps = sorted(groups.values(), key=lambda g: (-len(g), g[0]))
    return [tuple(data.treatments[t] for t in g) for g in comps]


# --------------------------------------------------------------------------------------------
# linear model pieces
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Contrasts(ReadOnlyArrays):
    y: np.ndarray  # basic contrasts
    V: np.ndarray  # their covariance (block diagonal)
    B: np.ndarray  # tau^2 pattern: 1 on diagonal, 1/2 within a study
    X: np.ndarray  # n x T contrast matrix (all treatments)
    study_of: np.ndarray  # study index of each contrast
    design_of: np.ndarray  # design index of each contrast
    comp_of: tuple[tuple[int, int], ...]  # (arm, baseline) of each contrast
    designs: tuple[str, ...]


def _contrasts(data: NetworkData) -> _Contrasts:
    ys, blocks, xs, sof, cof, dof = [], [], [], [], [], []
    T = len(data.treatments)
    design_labels = data.designs
    design_index: dict[str, int] = {}
    for s, arms in enumerate(data.study_arms):
        theta, v = data.arm_effects[s], data.arm_variances[s]
        k = len(arms)
        ys.extend(theta[1:] - theta[0])
        blocks.append(v[0] + np.diag(v[1:]))
        d = design_index.setdefault(design_labels[s], len(design_index))
        for j in range(1, k):
            x = np.zeros(T)
            x[arms[j]] = 1.0
            x[arms[0]] = -1.0
            xs.append(x)
            sof.append(s)
            cof.append((arms[j], arms[0]))
            dof.append(d)
    n = len(ys)
    V = np.zeros((n, n))
    B = np.zeros((n, n))
    start = 0
    for blk in blocks:
        m = blk.shape[0]
        V[start : start + m, start : start + m] = blk
        B[start : start + m, start : start + m] = 0.5
        start += m
    np.fill_diagonal(B, 1.0)
    return _Contrasts(
        np.asarray(ys),
        V,
        B,
        np.asarray(xs),
        np.asarray(sof),
        np.asarray(dof),
        tuple(cof),
        tuple(design_index),
    )


@dataclass(frozen=True)
class _Fit(ReadOnlyArrays):
    beta: np.ndarray
    vcov: np.ndarray
    q: float  # r' M^-1 r
    loglik_ml: float
    loglik_reml: float


def _gls(y: np.ndarray, M: np.ndarray, X: np.ndarray) -> _Fit:
    """Generalised least squares with covariance M, plus both log-likelihoods (metafor's)."""
    n, p = X.shape
    cho = np.linalg.cholesky(M)
    Li = np.linalg.solve(cho, np.eye(n))
    Xs, ys = Li @ X, Li @ y
    XtWX = Xs.T @ Xs
    vcov = np.linalg.inv(XtWX)
    vcov = (vcov + vcov.T) / 2
    beta = vcov @ (Xs.T @ ys)
    rs = ys - Xs @ beta
    q = float(rs @ rs)
    logdet_m = 2.0 * float(np.sum(np.log(np.diag(cho))))
    logdet_xwx = float(np.linalg.slogdet(XtWX)[1])
    logdet_xx = float(np.linalg.slogdet(X.T @ X)[1]) if p else 0.0
    ll_ml = -0.5 * (n * math.log(2 * math.pi) + logdet_m + q)
    # metafor's REML log-likelihood includes + 1/2 log|X'X| (REMLf = TRUE)
    ll_reml = -0.5 * ((n - p) * math.log(2 * math.pi) + logdet_m + logdet_xwx + q) + 0.5 * logdet_xx
    return _Fit(beta, vcov, q, ll_ml, ll_reml)


def _p_matrix(M: np.ndarray, X: np.ndarray) -> np.ndarray:
    Mi = np.linalg.inv(M)
    MiX = Mi @ X
    return cast("np.ndarray", Mi - MiX @ np.linalg.solve(X.T @ MiX, MiX.T))


def _tau2_dl(y: np.ndarray, V: np.ndarray, B: np.ndarray, X: np.ndarray) -> float:
    """Generalised DerSimonian-Laird: max(0, (Q - df) / tr(P_0 B)) (Jackson et al. 2012)."""
    n, p = X.shape
    df = n - p
    if df <= 0:
        return 0.0
    P0 = _p_matrix(V, X)
    q = float(y @ P0 @ y)
    return cast("float", max(0.0, (q - df) / float(np.trace(P0 @ B))))


def _tau2_likelihood(
    y: np.ndarray,
    V: np.ndarray,
    B: np.ndarray,
    X: np.ndarray,
    method: str,
    start: float,
    max_iter: int = 500,
    tol: float = 1e-13,
) -> tuple[float, int]:
    """REML/ML estimate of tau^2 >= 0 by Fisher scoring with step halving.

    Score and information (Harville 1977): REML ``U = 1/2 (y'PBPy - tr(PB))``,
    ``I = 1/2 tr(PBPB)``; ML the same with ``M^-1`` in place of ``P`` in the traces.
    """

    def loglik(t2: float) -> float:
        fit = _gls(y, V + t2 * B, X)
        return fit.loglik_reml if method == "REML" else fit.loglik_ml

    tau2 = max(0.0, start)
    v_min = float(np.min(np.diag(V)))
    ll = loglik(tau2)
    for it in range(1, max_iter + 1):
        M = V + tau2 * B
        P = _p_matrix(M, X)
        Py = P @ y
        if method == "REML":
            PB = P @ B
        else:
            PB = np.linalg.solve(M, B)
        score = 0.5 * (float(Py @ B @ Py) - float(np.trace(PB)))
        info = 0.5 * float(np.sum(PB * PB.T))
        if info <= 0:
            break
        new = max(0.0, tau2 + score / info)
        ll_new = loglik(new)
        halvings = 0
        while ll_new < ll - 1e-14 * max(1.0, abs(ll)) and halvings < 60:
            new = (new + tau2) / 2
            ll_new = loglik(new)
            halvings += 1
        step = abs(new - tau2)
        tau2, ll = new, ll_new
        if step <= tol * (v_min + tau2):  # relative to the variances' scale (units-free)
            return tau2, it
    return tau2, max_iter


def _estimate_tau2(y: Any, V: Any, B: Any, X: Any, method: str) -> tuple[float, int]:
    if method == "DL":
        return _tau2_dl(y, V, B, X), 0
    if X.shape[0] - X.shape[1] <= 0:
        return 0.0, 0
    tau2, it = _tau2_likelihood(y, V, B, X, method, start=_tau2_dl(y, V, B, X))
    return _tau2_global(y, V, B, X, method, tau2), it


def _nma_state(
    y: np.ndarray, V: np.ndarray, B: np.ndarray, X: np.ndarray, t: float, N: np.ndarray | None
) -> tuple[float, float, float, float, float]:
    """(l, c, c', e, e') at tau2 = t for the certificate of :func:`_tau2_global`.

    l = c + e (metafor's constants) with e = -1/2 Q, Q = min_b (y - Xb)' M^-1 (y - Xb) and
    M = V + t B: Q is convex in t (the matrix-fractional function x' M^-1 x is jointly convex),
    e' = 1/2 (Py)' B (Py) with P y = M^-1 (y - X b).  ML: c = -1/2 (n log 2 pi + log det M),
    convex (log det is concave on positive-definite matrices), c' = -1/2 tr(M^-1 B).  REML
    (``N`` an orthonormal basis of the complement of X, N'X = 0): log det X'M^-1X =
    log det N'MN - log det M + log det X'X (Harville 1974), so c = l - e =
    -1/2 log det N'MN + constants, convex, and c' = -1/2 tr((N'MN)^-1 N'BN).
    """
    M = V + t * B
    fit = _gls(y, M, X)
    Py = np.linalg.solve(M, y - X @ fit.beta)
    e, ep = -0.5 * fit.q, 0.5 * float(Py @ B @ Py)
    if N is None:
        ll = fit.loglik_ml
        cp = -0.5 * float(np.trace(np.linalg.solve(M, B)))
    else:
        ll = fit.loglik_reml
        cp = -0.5 * float(np.trace(np.linalg.solve(N.T @ M @ N, N.T @ B @ N)))
    return ll, ll - e, cp, e, ep


def _tau2_global(
    y: np.ndarray,
    V: np.ndarray,
    B: np.ndarray,
    X: np.ndarray,
    method: str,
    tau2: float,
    points: int = 16,
    tol: float = 1e-10,
    max_evals: int = 4000,
) -> float:
    """Certified global maximum of the (restricted) log-likelihood over tau2 >= 0.

    Fisher scoring (:func:`_tau2_likelihood`) can stop at a local maximum, e.g. at tau2 = 0
    below a higher interior maximum.  Branch and bound (as :func:`_engine.fit_likelihood`, here
    for one network): breakpoints 0, ``points`` log-spaced values s 10^e (e in [-6, 1.5],
    s = the OLS residual variance, floored at the smallest variance) and the local fit; the
    tail beyond the last breakpoint T is extended by factors of 10 until its bound

        l(t) <= -1/2 (n log 2 pi + n log T + log det B)
                [REML: + p/2 log 2 pi + p/2 log(lmax(V) + T lmax(B))]

    (eigenvalues of V + tB are >= t times those of B; X'M^-1X >= X'X / lmax(M), and metafor's
    REML constant + 1/2 log det X'X cancels) is below the best value; the bound falls with T
    when n > p, so it covers the whole tail.  On each cell [a, b], with the split l = c + e of
    :func:`_nma_state` (c convex, e concave):

        l(t) <= chord of c + min(tangent of e at a, tangent of e at b),

    and a cell whose bound exceeds the best value found + tol (1 + |l|) is bisected.  Where a
    point beats the local fit, Fisher scoring restarts from it and the higher fit is returned.
    """
    reml = method == "REML"
    n, p = X.shape
    N = None
    if reml:
        from scipy.linalg import null_space

        N = null_space(X.T)
    r_ols = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    s = max(float(r_ols @ r_ols) / max(n - p, 1), float(np.min(np.diag(V))))
    pts = sorted({0.0, float(tau2), *(s * 10.0 ** np.linspace(-6.0, 1.5, points))})
    states = {t: _nma_state(y, V, B, X, t, N) for t in pts}
    evals = len(pts)
    best_t = max(states, key=lambda t: states[t][0])
    best = states[best_t][0]
    thr = tol * (1.0 + abs(best))
    # tail bound
    lb = np.linalg.eigvalsh(B)
    logdet_b = float(np.sum(np.log(lb)))
    lmax_v, lmax_b = float(np.linalg.eigvalsh(V)[-1]), float(lb[-1])

    def tail(T: float) -> float:
        out = -0.5 * (n * math.log(2 * math.pi) + n * math.log(T) + logdet_b)
        if reml:
            out += 0.5 * p * (math.log(2 * math.pi) + math.log(lmax_v + T * lmax_b))
        return float(out)

    T = pts[-1]
    while tail(T) > best + thr and evals < max_evals:
        T *= 10.0
        states[T] = _nma_state(y, V, B, X, T, N)
        evals += 1
        pts.append(T)
        if states[T][0] > best:
            best_t, best = T, states[T][0]

    def bound(a: float, b: float) -> float:
        la, ca, cpa, ea, epa = states[a]
        lb_, cb, _, eb, epb = states[b]
        den = epa - epb
        tx = a if den <= 0 else min(max((eb - ea + epa * a - epb * b) / den, a), b)
        u = ca + (cb - ca) * (tx - a) / (b - a) + min(ea + epa * (tx - a), eb + epb * (tx - b))
        mag = abs(ca) + abs(cb) + abs(ea) + abs(eb) + (abs(epa) + abs(epb) + abs(cpa)) * (b - a)
        return max(la, lb_, u) + 64 * np.finfo(float).eps * mag

    cells = [(a, b) for a, b in zip(pts[:-1], pts[1:], strict=True) if b > a]
    while cells and evals < max_evals:
        nxt = []
        for a, b in cells:
            if bound(a, b) <= best + thr:
                continue
            mid = math.sqrt(a * b) if a > 0 else 0.5 * b
            if not a < mid < b:
                mid = a + 0.5 * (b - a)
            if not a < mid < b:
                continue
            states[mid] = _nma_state(y, V, B, X, mid, N)
            evals += 1
            if states[mid][0] > best:
                best_t, best = mid, states[mid][0]
            nxt += [(a, mid), (mid, b)]
        cells = nxt
    if cells:
        warnings.warn(
            f"network tau^2: global-optimum certificate not closed after {evals} likelihood "
            "evaluations",
            ConvergenceWarning,
            stacklevel=3,
        )
    if best > states[tau2][0] + thr:
        # a higher peak: Fisher scoring with step halving from it never descends
        refined, _ = _tau2_likelihood(y, V, B, X, method, start=best_t)
        if _nma_state(y, V, B, X, refined, N)[0] >= best:
            return float(refined)
        return float(best_t)
    return float(tau2)


def _design_matrix(c: _Contrasts) -> np.ndarray:
    """One free parameter per (design, comparison): the design-by-treatment interaction model."""
    keys: dict[tuple[int, tuple[int, int]], int] = {}
    for i in range(len(c.y)):
        keys.setdefault((int(c.design_of[i]), c.comp_of[i]), len(keys))
    Xd = np.zeros((len(c.y), len(keys)))
    for i in range(len(c.y)):
        Xd[i, keys[(int(c.design_of[i]), c.comp_of[i])]] = 1.0
    return Xd


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeagueTable(ReadOnlyArrays):
    """Every pair of treatments: ``estimate[i, j]`` is treatment i versus treatment j."""

    treatments: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    level: float

    def pairs(self) -> list[dict[str, Any]]:
        """All ordered pairs i != j as dicts (treat1 vs treat2, estimate, se, CI, z, p)."""
        out = []
        for i, a in enumerate(self.treatments):
            for j, b in enumerate(self.treatments):
                if i == j:
                    continue
                out.append(
                    {
                        "treat1": a,
                        "treat2": b,
                        "estimate": float(self.estimate[i, j]),
                        "se": float(self.se[i, j]),
                        "ci_low": float(self.ci_low[i, j]),
                        "ci_high": float(self.ci_high[i, j]),
                        "z": float(self.z[i, j]),
                        "p_value": float(self.p_value[i, j]),
                    }
                )
        return out

    def summary(self, digits: int = 2) -> str:
        """Lower triangle: row vs column estimate with CI (netmeta's league layout)."""
        names = self.treatments
        grid = []
        for i, a in enumerate(names):
            row = []
            for j in range(len(names)):
                if j < i:
                    row.append(
                        f"{self.estimate[i, j]:.{digits}f} "
                        f"({self.ci_low[i, j]:.{digits}f}, {self.ci_high[i, j]:.{digits}f})"
                    )
                else:
                    row.append(a if j == i else "")
            grid.append(row)
        width = max(len(c) for row in grid for c in row)
        return "\n".join("  ".join(c.ljust(width) for c in row).rstrip() for row in grid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "treatments": list(self.treatments),
            "level": self.level,
            "pairs": jsonable(self.pairs()),
        }


@dataclass(frozen=True)
class DesignDecomposition(ReadOnlyArrays):
    """Q split into within-design heterogeneity and between-design inconsistency.

    Under common effects ``q_between`` is the design-by-treatment interaction test (Higgins
    2012, Krahn 2013).  ``q_inconsistency_random`` is its random-effects version, with
    ``tau2_within`` estimated from the full design-by-treatment interaction model.
    """

    designs: tuple[str, ...]
    q_design: np.ndarray
    df_design: np.ndarray
    q_total: float
    df_total: int
    q_within: float
    df_within: int
    q_between: float
    df_between: int
    tau2_within: float | None
    q_inconsistency_random: float | None

    @property
    def p_total(self) -> float:
        return _pvalue_chi2(self.q_total, self.df_total)

    @property
    def p_within(self) -> float:
        return _pvalue_chi2(self.q_within, self.df_within)

    @property
    def p_between(self) -> float:
        return _pvalue_chi2(self.q_between, self.df_between)

    @property
    def p_inconsistency_random(self) -> float | None:
        if self.q_inconsistency_random is None:
            return None
        return _pvalue_chi2(self.q_inconsistency_random, self.df_between)

    def summary(self) -> str:
        lines = [
            f"Q total          {_fmt(self.q_total, 2):>9}  df {self.df_total:>3}  p "
            f"{_fmt(self.p_total)}",
            f"  within designs {_fmt(self.q_within, 2):>9}  df {self.df_within:>3}  p "
            f"{_fmt(self.p_within)}",
            f"  between designs{_fmt(self.q_between, 2):>9}  df {self.df_between:>3}  p "
            f"{_fmt(self.p_between)}",
        ]
        if self.q_inconsistency_random is not None:
            lines.append(
                f"design-by-treatment (random, tau2_within {_fmt(self.tau2_within)}): "
                f"Q {_fmt(self.q_inconsistency_random, 2)} df {self.df_between} "
                f"p {_fmt(self.p_inconsistency_random)}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            jsonable(
                {
                    "designs": [
                        {"design": d, "q": q, "df": f}
                        for d, q, f in zip(self.designs, self.q_design, self.df_design, strict=True)
                    ],
                    "q_total": self.q_total,
                    "df_total": self.df_total,
                    "p_total": self.p_total,
                    "q_within": self.q_within,
                    "df_within": self.df_within,
                    "p_within": self.p_within,
                    "q_between": self.q_between,
                    "df_between": self.df_between,
                    "p_between": self.p_between,
                    "tau2_within": self.tau2_within,
                    "q_inconsistency_random": self.q_inconsistency_random,
                    "p_inconsistency_random": self.p_inconsistency_random,
                }
            ),
        )


@dataclass(frozen=True)
class NetworkResult(ReadOnlyArrays):
    """Result of :func:`nma`.

    ``effect``, ``se``, ``ci_low``, ``ci_high`` are each treatment versus ``reference`` on the
    analysis scale (0 for the reference itself); ``covariance`` is their T x T covariance.
    """

    data: NetworkData = field(repr=False)
    treatments: tuple[str, ...]
    reference: str
    model: str  # "common" or "random"
    method: str  # "FE" for common; "REML", "ML" or "DL"
    level: float
    small_values: str
    effect: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    covariance: np.ndarray
    league: LeagueTable
    p_scores: np.ndarray
    tau2: float
    loglik: float | None
    decomposition: DesignDecomposition
    n_studies: int
    n_pairs: int
    n_contrasts: int
    excluded_components: tuple[tuple[str, ...], ...]
    iterations: int = 0

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def q_total(self) -> float:
        return self.decomposition.q_total

    @property
    def df(self) -> int:
        return self.decomposition.df_total

    @property
    def i2(self) -> float:
        """I^2 = max(0, (Q - df)/Q) from the total Q (netmeta)."""
        q, df = self.q_total, self.df
        return max(0.0, (q - df) / q) if df > 0 and q > 0 else 0.0

    def effects_vs(self, reference: str) -> dict[str, dict[str, float]]:
        """Every treatment versus ``reference`` (a column of the league table)."""
        if reference not in self.treatments:
            raise PlateauError(
                f"unknown reference {reference!r}; treatments are {list(self.treatments)}"
            )
        j = self.treatments.index(reference)
        lg = self.league
        return {
            t: {
                "estimate": float(lg.estimate[i, j]),
                "se": float(lg.se[i, j]),
                "ci_low": float(lg.ci_low[i, j]),
                "ci_high": float(lg.ci_high[i, j]),
            }
            for i, t in enumerate(self.treatments)
            if i != j
        }

    def ranking(self) -> list[tuple[str, float]]:
        """Treatments ordered by P-score, best first."""
        order = np.argsort(-self.p_scores, kind="stable")
        return [(self.treatments[i], float(self.p_scores[i])) for i in order]

    def summary(self, digits: int = 3) -> str:
        pct = round(self.level * 100)
        head = (
            f"{'Random' if self.model == 'random' else 'Common'}-effects network meta-analysis"
            f"{' (' + self.method + ')' if self.model == 'random' else ''}: "
            f"{len(self.treatments)} treatments, {self.n_studies} studies, {self.n_pairs} pairs"
        )
        lines = [head, f"Versus {self.reference} ({pct}% CI), P-score:"]
        for i, t in enumerate(self.treatments):
            if t == self.reference:
                lines.append(f"  {t:<28} (reference)           P {self.p_scores[i]:.3f}")
            else:
                lines.append(
                    f"  {t:<28} {self.effect[i]: .{digits}f} "
                    f"[{self.ci_low[i]: .{digits}f}, {self.ci_high[i]: .{digits}f}]  "
                    f"P {self.p_scores[i]:.3f}"
                )
        lines.append(f"tau2 = {_fmt(self.tau2)}; I2 = {100 * self.i2:.1f}%")
        lines.append(self.decomposition.summary())
        for comp in self.excluded_components:
            lines.append(f"Not connected to {self.reference} (not analysed): {', '.join(comp)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        vs_ref = {
            t: {
                "estimate": float(self.effect[i]),
                "se": float(self.se[i]),
                "ci_low": float(self.ci_low[i]),
                "ci_high": float(self.ci_high[i]),
            }
            for i, t in enumerate(self.treatments)
            if t != self.reference
        }
        dec = self.decomposition
        return cast(
            "dict[str, Any]",
            jsonable(
                {
                    "model": self.model,
                    "method": self.method,
                    "level": self.level,
                    "small_values": self.small_values,
                    "treatments": list(self.treatments),
                    "reference": self.reference,
                    "effects_vs_reference": vs_ref,
                    "league": self.league.pairs(),
                    "p_scores": {
                        t: float(p) for t, p in zip(self.treatments, self.p_scores, strict=True)
                    },
                    "ranking": [t for t, _ in self.ranking()],
                    "tau2": self.tau2,
                    "tau": self.tau,
                    "i2": self.i2,
                    "loglik": self.loglik,
                    "q_total": dec.q_total,
                    "df_total": dec.df_total,
                    "p_total": dec.p_total,
                    "q_within": dec.q_within,
                    "df_within": dec.df_within,
                    "p_within": dec.p_within,
                    "q_between": dec.q_between,
                    "df_between": dec.df_between,
                    "p_between": dec.p_between,
                    "decomposition": dec.to_dict(),
                    "n_studies": self.n_studies,
                    "n_pairs": self.n_pairs,
                    "n_contrasts": self.n_contrasts,
                    "excluded_components": [list(c) for c in self.excluded_components],
                }
            ),
        )


def _league(treatments: Any, effect: Any, cov: Any, level: Any) -> LeagueTable:
    est = effect[:, None] - effect[None, :]
    dv = np.diag(cov)
    var = dv[:, None] + dv[None, :] - 2 * cov
    se = np.sqrt(np.maximum(var, 0.0))
    zc = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    p = 2 * stats.norm.sf(np.abs(z))
    return LeagueTable(tuple(treatments), est, se, est - zc * se, est + zc * se, z, p, level)


def _p_scores(effect: Any, league: LeagueTable, small_values: str) -> np.ndarray:
    T = len(effect)
    if T < 2:
        return np.ones(T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # probability that i is better than j
        diff = league.estimate  # d_i - d_j
        sign = -1.0 if small_values == "desirable" else 1.0
        pr = stats.norm.cdf(sign * diff / league.se)
    np.fill_diagonal(pr, 0.0)
    return cast("np.ndarray", pr.sum(axis=1) / (T - 1))


def nma(
    study: Sequence[Any] | NetworkData,
    treat1: Sequence[Any] | None = None,
    treat2: Sequence[Any] | None = None,
    te: Sequence[float] | None = None,
    se_te: Sequence[float] | None = None,
    *,
    reference: str | None = None,
    random: bool = True,
    method: str = "REML",
    tau2: float | None = None,
    level: float = 0.95,
    small_values: str = "desirable",
    treatments: Sequence[str] | None = None,
) -> NetworkResult:
    """Contrast-based network meta-analysis (common or random effects).

    Parameters
    ----------
    study, treat1, treat2, te, se_te
        Pairwise input: one row per pair of arms (all pairs of a multi-arm study); ``te`` is
        treat1 versus treat2.  Alternatively pass a :class:`NetworkData` as ``study``.
    reference
        Treatment the effects are expressed against (default: the first treatment).  In a
        disconnected network the component containing ``reference`` is analysed and the others
        are listed in ``excluded_components``; without a reference a disconnected network is an
        error.
    random
        Random effects (default) or common effect.
    method
        tau^2 estimator for random effects: ``"REML"`` (metafor's default), ``"ML"`` or
        ``"DL"`` (generalised DerSimonian-Laird, netmeta's default).
    tau2
        Fix tau^2 instead of estimating it (random effects only).
    level
        Confidence level of the Wald intervals (z based, as netmeta and rma.mv's default).
    small_values
        ``"desirable"`` (e.g. log HR for death or progression) or ``"undesirable"``: the
        direction of the P-scores.

    Returns
    -------
    NetworkResult
    """
    if not 0 < level < 1:
        raise PlateauError(f"level must be between 0 and 1, got {level!r}")
    method = method.upper()
    if method not in METHODS:
        raise PlateauError(f"unknown tau2 method {method!r}; choose one of {', '.join(METHODS)}")
    if small_values not in ("desirable", "undesirable"):
        raise PlateauError("small_values must be 'desirable' or 'undesirable'")
    if tau2 is not None and (not math.isfinite(tau2) or tau2 < 0):
        raise PlateauError(f"tau2 must be a non-negative number, got {tau2!r}")
    if isinstance(study, NetworkData):
        data = study
    else:
        if treat1 is None or treat2 is None or te is None or se_te is None:
            raise PlateauError("nma() needs study, treat1, treat2, te and se_te")
        data = network_data(study, treat1, treat2, te, se_te, treatments=treatments)

    comps = connected_components(data)
    if reference is not None and reference not in data.treatments:
        raise PlateauError(
            f"unknown reference treatment {reference!r}; the network has "
            f"{', '.join(data.treatments)}"
        )
    if len(comps) > 1:
        if reference is None:
            raise PlateauError(
                "the network is disconnected into "
                + str(len(comps))
                + " sub-networks: "
                + "; ".join("{" + ", ".join(c) + "}" for c in comps)
                + "; choose a reference treatment to analyse its sub-network"
            )
        main = next(c for c in comps if reference in c)
        excluded = tuple(c for c in comps if c is not main)
        data = data.subset(main)
    else:
        excluded = ()
    if reference is None:
        reference = data.treatments[0]
    T = len(data.treatments)
    if T < 2:
        raise PlateauError("a network needs at least two treatments")
    ref = data.treatments.index(reference)

    c = _contrasts(data)
    keep = [j for j in range(T) if j != ref]
    Xr = c.X[:, keep]

    common_fit = _gls(c.y, c.V, Xr)
    iterations = 0
    if random:
        if tau2 is None:
            tau2_hat, iterations = _estimate_tau2(c.y, c.V, c.B, Xr, method)
        else:
            tau2_hat = float(tau2)
        fit = _gls(c.y, c.V + tau2_hat * c.B, Xr)
        loglik = fit.loglik_reml if method == "REML" else fit.loglik_ml
        model = "random"
    else:
        tau2_hat, fit, loglik, model, method = 0.0, common_fit, common_fit.loglik_ml, "common", "FE"

    effect = np.zeros(T)
    effect[keep] = fit.beta
    cov = np.zeros((T, T))
    cov[np.ix_(keep, keep)] = fit.vcov
    se = np.sqrt(np.diag(cov))
    zc = stats.norm.ppf(0.5 + level / 2)
    league = _league(data.treatments, effect, cov, level)
    pscores = _p_scores(effect, league, small_values)

    decomposition = _decompose(c, Xr, common_fit.q, method if random else "REML")

    return NetworkResult(
        data=data,
        treatments=data.treatments,
        reference=reference,
        model=model,
        method=method,
        level=level,
        small_values=small_values,
        effect=effect,
        se=se,
        ci_low=effect - zc * se,
        ci_high=effect + zc * se,
        covariance=cov,
        league=league,
        p_scores=pscores,
        tau2=float(tau2_hat),
        loglik=float(loglik),
        decomposition=decomposition,
        n_studies=len(data.studies),
        n_pairs=len(data.pairs),
        n_contrasts=len(c.y),
        excluded_components=excluded,
        iterations=iterations,
    )


def _decompose(c: _Contrasts, Xr: np.ndarray, q_total: float, method: str) -> DesignDecomposition:
    n, p = Xr.shape
    df_total = n - p
    Xd = _design_matrix(c)
    Winv = c.V
    full = _gls(c.y, Winv, Xd)
    q_within = full.q
    df_within = n - Xd.shape[1]
    # per-design Q
    q_design, df_design = [], []
    for d in range(len(c.designs)):
        rows = np.flatnonzero(c.design_of == d)
        cols = np.flatnonzero(np.any(Xd[rows] != 0, axis=0))
        fd = _gls(c.y[rows], c.V[np.ix_(rows, rows)], Xd[np.ix_(rows, cols)])
        q_design.append(fd.q)
        df_design.append(len(rows) - len(cols))
    q_between = q_total - q_within
    df_between = df_total - df_within
    tau2_w: float | None = None
    q_inc_random: float | None = None
    if df_within > 0 and df_between > 0:
        tau2_w, _ = _estimate_tau2(c.y, c.V, c.B, Xd, method)
        Mw = c.V + tau2_w * c.B
        q_inc_random = _gls(c.y, Mw, Xr).q - _gls(c.y, Mw, Xd).q
    return DesignDecomposition(
        designs=c.designs,
        q_design=np.asarray(q_design),
        df_design=np.asarray(df_design),
        q_total=float(q_total),
        df_total=int(df_total),
        q_within=float(q_within),
        df_within=int(df_within),
        q_between=float(q_between),
        df_between=int(df_between),
        tau2_within=tau2_w,
        q_inconsistency_random=q_inc_random,
    )


# --------------------------------------------------------------------------------------------
# node-splitting
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeSplit(ReadOnlyArrays):
    """Direct and indirect evidence of one comparison (treat1 versus treat2)."""

    treat1: str
    treat2: str
    k: int  # studies with direct evidence
    nma: float
    nma_se: float
    direct: float
    direct_se: float
    indirect: float | None
    indirect_se: float | None
    proportion_direct: float  # var_nma / var_direct (netmeta's "direct evidence proportion")
    difference: float | None  # direct - indirect
    difference_se: float | None
    z: float | None
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return cast("dict[str, Any]", jsonable(dict(self.__dict__)))


@dataclass(frozen=True)
class NodeSplitResult(ReadOnlyArrays):
    """Back-calculation node-splitting of every directly compared pair (netmeta ``netsplit``)."""

    model: str
    tau2: float
    level: float
    splits: tuple[NodeSplit, ...]

    def summary(self) -> str:
        lines = [
            f"Node-splitting ({self.model} effects, back-calculation)",
            f"{'comparison':<40} {'k':>3} {'direct':>8} {'indirect':>9} {'diff':>8} {'p':>7}",
        ]
        for s in self.splits:
            lines.append(
                f"{s.treat1 + ' vs ' + s.treat2:<40} {s.k:>3} {_fmt(s.direct, 3):>8} "
                f"{_fmt(s.indirect, 3):>9} {_fmt(s.difference, 3):>8} {_fmt(s.p_value, 4):>7}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tau2": float(self.tau2),
            "level": self.level,
            "splits": [s.to_dict() for s in self.splits],
        }


def node_split(result: NetworkResult) -> NodeSplitResult:
    """Split every directly compared pair into direct and indirect evidence (back-calculation).

    Direct estimate of ``a`` vs ``b``: ``sum_s w_s,ab y_s,ab / sum_s w_s,ab`` over the studies
    with both arms, where ``w_s,ab`` are Rücker's reduced weights of study ``s`` computed from
    its pairwise variances plus ``tau^2`` (netmeta's ``TE.direct``).  Indirect estimate by
    back-calculation (König et al. 2013): ``v_ind = 1/(1/v_nma - 1/v_dir)``,
    ``d_ind = v_ind (d_nma/v_nma - d_dir/v_dir)``.  A comparison informed by direct evidence
    only (``1/v_nma - 1/v_dir`` within 1e-10 relative) has no indirect estimate.
    """
    data = result.data
    T = len(data.treatments)
    num = np.zeros((T, T))
    den = np.zeros((T, T))
    k = np.zeros((T, T), dtype=int)
    for s, arms in enumerate(data.study_arms):
        W = _arm_pair_weights(data.arm_variances[s], result.tau2)
        theta = data.arm_effects[s]
        for ia, ib in combinations(range(len(arms)), 2):
            a, b = arms[ia], arms[ib]
            w = W[ia, ib]
            y = theta[ib] - theta[ia]  # arm b vs arm a
            num[b, a] += w * y
            den[b, a] += w
            num[a, b] -= w * y
            den[a, b] += w
            k[a, b] += 1
            k[b, a] += 1
    splits = []
    lg = result.league
    for i in range(T):
        for j in range(i + 1, T):
            if k[i, j] == 0:
                continue
            d_dir = num[i, j] / den[i, j]
            v_dir = 1.0 / den[i, j]
            d_nma = float(lg.estimate[i, j])
            v_nma = float(lg.se[i, j] ** 2)
            prec_ind = 1.0 / v_nma - 1.0 / v_dir
            if prec_ind <= 1e-10 / v_nma:
                ind = ind_se = diff = diff_se = z = p = None
            else:
                v_ind = 1.0 / prec_ind
                ind = v_ind * (d_nma / v_nma - d_dir / v_dir)
                ind_se = math.sqrt(v_ind)
                diff = d_dir - ind
                diff_se = math.sqrt(v_dir + v_ind)
                z = diff / diff_se
                p = float(2 * stats.norm.sf(abs(z)))
            splits.append(
                NodeSplit(
                    treat1=data.treatments[i],
                    treat2=data.treatments[j],
                    k=int(k[i, j]),
                    nma=d_nma,
                    nma_se=math.sqrt(v_nma),
                    direct=float(d_dir),
                    direct_se=math.sqrt(v_dir),
                    indirect=ind,
                    indirect_se=ind_se,
                    proportion_direct=min(1.0, v_nma / v_dir),
                    difference=diff,
                    difference_se=diff_se,
                    z=z,
                    p_value=p,
                )
            )
    return NodeSplitResult(result.model, result.tau2, result.level, tuple(splits))


# --------------------------------------------------------------------------------------------
# ranking by resampling (SUCRA)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RankResult(ReadOnlyArrays):
    """Rank probabilities by simulation from the NMA's normal approximation.

    ``probabilities[i, r]`` is the probability that treatment i has rank r + 1 (1 = best);
    ``sucra[i] = sum_{r=1}^{T-1} P(rank_i <= r) / (T - 1)`` (Salanti et al. 2011).
    """

    treatments: tuple[str, ...]
    probabilities: np.ndarray
    mean_rank: np.ndarray
    sucra: np.ndarray
    n_sim: int
    seed: int

    def summary(self) -> str:
        order = np.argsort(-self.sucra, kind="stable")
        lines = [f"SUCRA ({self.n_sim} simulations, seed {self.seed})"]
        for i in order:
            lines.append(
                f"  {self.treatments[i]:<28} SUCRA {self.sucra[i]:.3f}  mean rank "
                f"{self.mean_rank[i]:.2f}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return cast(
            "dict[str, Any]",
            jsonable(
                {
                    "treatments": list(self.treatments),
                    "probabilities": self.probabilities,
                    "mean_rank": self.mean_rank,
                    "sucra": self.sucra,
                    "n_sim": self.n_sim,
                    "seed": self.seed,
                }
            ),
        )


def rank_probabilities(
    result: NetworkResult, n_sim: int = 10000, seed: int = 20150101
) -> RankResult:
    """Rank probabilities, mean ranks and SUCRA by sampling the effects from N(d, Cov(d))."""
    if n_sim < 1:
        raise PlateauError("n_sim must be at least 1")
    T = len(result.treatments)
    rng = np.random.default_rng(seed)
    keep = [i for i, t in enumerate(result.treatments) if t != result.reference]
    draws = np.zeros((n_sim, T))
    sub = result.covariance[np.ix_(keep, keep)]
    draws[:, keep] = rng.multivariate_normal(
        result.effect[keep], sub, size=n_sim, method="cholesky"
    )
    score = draws if result.small_values == "desirable" else -draws
    ranks = np.argsort(np.argsort(score, axis=1, kind="stable"), axis=1)  # 0 = best
    prob = np.zeros((T, T))
    for r in range(T):
        prob[:, r] = np.mean(ranks == r, axis=0)
    cum = np.cumsum(prob, axis=1)
    sucra = cum[:, :-1].sum(axis=1) / (T - 1) if T > 1 else np.ones(T)
    mean_rank = prob @ np.arange(1, T + 1)
    return RankResult(result.treatments, prob, mean_rank, sucra, n_sim, seed)
