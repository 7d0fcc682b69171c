# Independent review oracle: metafor 3.8.1 results on designs chosen by the reviewer.
# Regenerate: Rscript validation/review/review_designs.R  (writes review_designs.json beside it)
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
set.seed(20261206)
ctrl <- list(threshold = 1e-12, maxiter = 1000, stepadj = 0.5, tol = 1e-15)
# metafor's threshold is an absolute change in tau2 and tol is uniroot's (PM/EB/PMM/GENQ) tolerance:
# scale both to the sampling variances so tiny-variance designs are solved as tightly as the rest
ctrl_for <- function(vi) { s <- min(1, median(vi)); modifyList(ctrl, list(threshold = 1e-13 * s, tol = 1e-15 * s)) }
out <- list()
add <- function(x) out[[length(out) + 1]] <<- x
num <- function(x) { x <- as.numeric(x); x[!is.finite(x)] <- NA; x }

# restricted/ordinary log-likelihood of rma.uni (intercept or X), profiled on tau2
ll_prof <- function(yi, vi, X, tau2, reml) {
  w <- 1 / (vi + tau2); W <- diag(w, length(w))
  XtWX <- t(X) %*% W %*% X
  b <- solve(XtWX, t(X) %*% W %*% yi); r <- yi - X %*% b
  k <- length(yi); p <- ncol(X)
  if (!reml) -0.5 * k * log(2 * pi) - 0.5 * sum(log(vi + tau2)) - 0.5 * sum(w * r^2)
  else -0.5 * (k - p) * log(2 * pi) + 0.5 * determinant(crossprod(X), log = TRUE)$modulus -
    0.5 * sum(log(vi + tau2)) - 0.5 * determinant(XtWX, log = TRUE)$modulus - 0.5 * sum(w * r^2)
}
grid_max <- function(yi, vi, X, reml) {
  g <- c(0, 10^seq(-10, 4, length.out = 3000) * max(1, var(yi)))
  v <- sapply(g, function(t) ll_prof(yi, vi, X, t, reml))
  i <- which.max(v)
  lo <- g[max(1, i - 1)]; hi <- g[min(length(g), i + 1)]
  o <- optimize(function(t) ll_prof(yi, vi, X, t, reml), c(lo, hi), maximum = TRUE, tol = 1e-14)
  max(o$objective, v[i])
}

fit_rec <- function(fit) {
  r <- list(beta = num(fit$beta), se = num(fit$se), zval = num(fit$zval), pval = num(fit$pval),
            ci_lb = num(fit$ci.lb), ci_ub = num(fit$ci.ub), tau2 = num(fit$tau2),
            se_tau2 = num(fit$se.tau2), QE = num(fit$QE), QEp = num(fit$QEp),
            I2 = num(fit$I2), H2 = num(fit$H2), QM = num(fit$QM), QMp = num(fit$QMp))
  if (!is.null(fit$R2)) r$R2 <- num(fit$R2)
  r$loglik <- num(logLik(fit)); r$weights <- num(weights(fit))
  if (is.null(fit$X) || ncol(fit$X) == 1 && all(fit$X == 1)) {
    pr <- predict(fit)
    r$pi_lb <- num(pr$pi.lb); r$pi_ub <- num(pr$pi.ub)
  }
  r
}

methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
tests <- c("z", "knha")

uni_case <- function(name, yi, vi, X = NULL, intercept = TRUE, weights = NULL, meths = methods) {
  for (m in meths) for (tt in tests) {
    if (!is.null(weights) && m %in% c("EB", "PM", "PMM", "GENQ")) next
    args <- list(yi = yi, vi = vi, method = m, test = tt, control = ctrl_for(vi))
    if (!is.null(X)) { args$mods <- X; args$intercept <- intercept }
    if (!is.null(weights)) args$weights <- weights
    if (m == "GENQ") args$weights <- 1 / (vi + 0)   # GENQ needs weights: inverse variance
    fit <- tryCatch(suppressWarnings(do.call(rma, args)), error = function(e) e)
    if (inherits(fit, "error") && m %in% c("ML", "REML")) {  # retry with smaller steps
      args$control <- modifyList(args$control, list(stepadj = 0.05, maxiter = 100000))
      fit <- tryCatch(suppressWarnings(do.call(rma, args)), error = function(e) e)
    }
    case <- list(kind = "uni", design = name, method = m, test = tt, yi = yi, vi = vi,
                 X = if (is.null(X)) NULL else unname(as.matrix(X)), intercept = intercept,
                 weights = weights)
    if (inherits(fit, "error")) {
      case$error <- conditionMessage(fit)
      if (m %in% c("ML", "REML") && is.null(weights)) {
        Xf <- if (is.null(X)) matrix(1, length(yi), 1) else if (intercept) cbind(1, as.matrix(X)) else as.matrix(X)
        case$grid_loglik <- grid_max(yi, vi, Xf, m == "REML")
      }
      add(case); next
    }
    case$res <- fit_rec(fit)
    if (m %in% c("ML", "REML")) {
      Xf <- if (is.null(X)) matrix(1, length(yi), 1) else if (intercept) cbind(1, as.matrix(X)) else as.matrix(X)
      if (is.null(weights)) {
        gm <- grid_max(yi, vi, Xf, m == "REML")
        case$grid_loglik <- gm
        case$metafor_at_global <- (logLik(fit) >= gm - 1e-9)
      }
    }
    add(case)
  }
}

# ---------------- designs ----------------
# k = 2, 3, 30
uni_case("k2", c(-0.3, 0.4), c(0.02, 0.05))
uni_case("k2_homog", c(-0.3, -0.28), c(0.02, 0.05))
uni_case("k3", c(-0.6, 0.1, 0.9), c(0.04, 0.1, 0.03))
y30 <- rnorm(30, -0.2, 0.3); v30 <- runif(30, 0.005, 0.2); y30 <- y30 + rnorm(30, 0, sqrt(v30))
uni_case("k30", y30, v30)
# tiny and huge variances
uni_case("tiny_v", c(0.001, 0.0012, 0.0009, 0.00115, 0.00102), c(1e-9, 2e-9, 5e-10, 3e-9, 1e-9))
uni_case("huge_v", c(120, -300, 450, 10, -80), c(1e5, 3e5, 5e4, 2e5, 8e4))
uni_case("mixed_v", c(0.1, 0.5, -0.2, 0.3, 0.9, 0.05), c(1e-6, 1, 10, 0.01, 100, 1e-4))
# all-equal yi
uni_case("equal_yi", rep(0.25, 6), c(0.01, 0.02, 0.05, 0.1, 0.03, 0.04))
# one dominant study
uni_case("dominant", c(0.02, 0.5, -0.4, 0.8, 0.3, -0.6, 0.7), c(1e-6, 0.1, 0.12, 0.2, 0.08, 0.15, 0.3))
# bcg
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
uni_case("bcg", as.numeric(bcg$yi), as.numeric(bcg$vi))
# normand1999 (mean differences)
nd <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
uni_case("normand1999_MD", as.numeric(nd$yi), as.numeric(nd$vi))
# li2007 OR (sparse)
li <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
li <- li[!is.na(li$yi), ]
uni_case("li2007_OR", as.numeric(li$yi), as.numeric(li$vi))
# meta-regression: bcg ablat + year + 3-level alloc factor (dummies)
Xb <- cbind(ablat = bcg$ablat, year = bcg$year,
            alloc_rand = as.numeric(bcg$alloc == "random"), alloc_syst = as.numeric(bcg$alloc == "systematic"))
uni_case("bcg_mreg4", as.numeric(bcg$yi), as.numeric(bcg$vi), X = Xb,
         meths = c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"))
uni_case("bcg_mreg_ablat", as.numeric(bcg$yi), as.numeric(bcg$vi), X = cbind(ablat = bcg$ablat),
         meths = c("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM"))
# no intercept: the 3 alloc levels as cell means + ablat
Xn <- cbind(a_alt = as.numeric(bcg$alloc == "alternate"), a_rand = as.numeric(bcg$alloc == "random"),
            a_syst = as.numeric(bcg$alloc == "systematic"), ablat = bcg$ablat)
uni_case("bcg_mreg_noint", as.numeric(bcg$yi), as.numeric(bcg$vi), X = Xn, intercept = FALSE,
         meths = c("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM"))
# simulated meta-regression k=30 with continuous + factor
x1 <- rnorm(30); f3 <- sample(c("a", "b", "c"), 30, replace = TRUE)
Xs <- cbind(x1 = x1, fb = as.numeric(f3 == "b"), fc = as.numeric(f3 == "c"))
ys <- 0.1 + 0.2 * x1 + 0.3 * (f3 == "b") + rnorm(30, 0, 0.2) + rnorm(30, 0, sqrt(v30))
uni_case("sim_mreg", ys, v30, X = Xs, meths = c("EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM"))
# user weights
uni_case("bcg_userw", as.numeric(bcg$yi), as.numeric(bcg$vi), weights = bcg$tpos + bcg$tneg + bcg$cpos + bcg$cneg,
         meths = c("EE", "DL", "HE", "SJ", "ML", "REML"))
uni_case("k30_userw_unit", y30, v30, weights = rep(1, 30), meths = c("EE", "DL", "ML", "REML"))

# ---------------- subgroups ----------------
sg_case <- function(name, yi, vi, g) {
  for (m in c("EE", "DL", "REML", "ML", "PM")) for (tt in tests) {
    # separate tau2: one fit per level + Wald-type test of between-level difference (fixed-effects model on estimates)
    levs <- sort(unique(g)); per <- list()
    for (l in levs) {
      f <- suppressWarnings(rma(yi[g == l], vi[g == l], method = m, test = tt, control = ctrl_for(vi[g == l])))
      per[[length(per) + 1]] <- list(level = l, beta = num(f$beta), se = num(f$se), tau2 = num(f$tau2), QE = num(f$QE),
                       ci_lb = num(f$ci.lb), ci_ub = num(f$ci.ub))
    }
    est <- sapply(per, `[[`, "beta"); ses <- sapply(per, `[[`, "se")
    fb <- rma(est, sei = ses, method = "FE")
    # common tau2: meta-regression with level dummies
    fc <- suppressWarnings(rma(yi, vi, mods = ~ factor(g), method = m, test = tt, control = ctrl_for(vi)))
    fcn <- suppressWarnings(rma(yi, vi, mods = ~ factor(g) - 1, method = m, test = tt, control = ctrl_for(vi)))
    add(list(kind = "subgroup", design = name, method = m, test = tt, yi = yi, vi = vi, groups = g,
             separate = per, separate_Qbetween = num(fb$QE), separate_Qbetween_p = num(fb$QEp),
             common = list(tau2 = num(fc$tau2), QM = num(fc$QM), QMp = num(fc$QMp), QE = num(fc$QE),
                           level_beta = num(fcn$beta), level_se = num(fcn$se),
                           level_ci_lb = num(fcn$ci.lb), level_ci_ub = num(fcn$ci.ub))))
  }
}
sg_case("bcg_alloc", as.numeric(bcg$yi), as.numeric(bcg$vi), as.character(bcg$alloc))
sg_case("sim_f3", ys, v30, f3)
# a subgroup holding a single study (common in forest plots): metafor fits it with tau2 = 0
sg_case("singleton_level", c(-0.6, 0.1, 0.9, 0.2, -0.3, 0.5), c(0.04, 0.1, 0.03, 0.05, 0.02, 0.08),
        c("a", "a", "a", "b", "b", "c"))

# ---------------- leave-one-out, cumulative ----------------
for (nm in c("bcg", "k3", "dominant")) {
  d <- switch(nm, bcg = list(as.numeric(bcg$yi), as.numeric(bcg$vi)), k3 = list(c(-0.6, 0.1, 0.9), c(0.04, 0.1, 0.03)),
              dominant = list(c(0.02, 0.5, -0.4, 0.8, 0.3, -0.6, 0.7), c(1e-6, 0.1, 0.12, 0.2, 0.08, 0.15, 0.3)))
  for (m in c("EE", "DL", "REML", "ML", "PM", "HE")) for (tt in tests) {
    f <- suppressWarnings(rma(d[[1]], d[[2]], method = m, test = tt, control = ctrl_for(d[[2]])))
    l1 <- suppressWarnings(leave1out(f)); cu <- suppressWarnings(cumul(f))
    add(list(kind = "l1o_cumul", design = nm, method = m, test = tt, yi = d[[1]], vi = d[[2]],
             l1o = list(estimate = num(l1$estimate), se = num(l1$se), ci_lb = num(l1$ci.lb), ci_ub = num(l1$ci.ub),
                        tau2 = num(l1$tau2), Q = num(l1$Q), I2 = num(l1$I2), pval = num(l1$pval)),
             cumul = list(estimate = num(cu$estimate), se = num(cu$se), ci_lb = num(cu$ci.lb), ci_ub = num(cu$ci.ub),
                          tau2 = num(cu$tau2), Q = num(cu$Q), I2 = num(cu$I2), pval = num(cu$pval))))
  }
}

# ---------------- trim and fill, regtest, ranktest ----------------
eg <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
asym <- list(
  bcg = list(as.numeric(bcg$yi), as.numeric(bcg$vi)),
  sim_right = list(c(0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.25, 0.2, 0.22, 0.18, 0.8),
                   c(0.3, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.01, 0.012, 0.008, 0.25)),
  sim_left = list(-c(0.9, 0.7, 0.6, 0.45, 0.5, 0.3, 0.35, 0.25, 0.2, 0.22, 0.18, 0.8),
                  c(0.3, 0.2, 0.15, 0.1, 0.09, 0.05, 0.04, 0.02, 0.01, 0.012, 0.008, 0.25)),
  k30 = list(y30, v30))
if (exists("dat.egger2001")) {
  e1 <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
  e1 <- e1[!is.na(e1$yi), ]
  asym$egger2001 <- list(as.numeric(e1$yi), as.numeric(e1$vi))
}
for (nm in names(asym)) {
  yi <- asym[[nm]][[1]]; vi <- asym[[nm]][[2]]
  for (m in c("EE", "DL", "REML")) {
    f <- suppressWarnings(rma(yi, vi, method = m, control = ctrl_for(vi)))
    for (est in c("L0", "R0")) for (side in c("auto", "left", "right")) {
      tf <- tryCatch(if (side == "auto") trimfill(f, estimator = est, control = ctrl_for(vi)) else
        trimfill(f, estimator = est, side = side, control = ctrl_for(vi)),
                     error = function(e) e)
      case <- list(kind = "trimfill", design = nm, method = m, estimator = est, side = side, yi = yi, vi = vi)
      if (inherits(tf, "error")) case$error <- conditionMessage(tf) else
        case$res <- list(k0 = num(tf$k0), side = tf$side, beta = num(tf$beta), se = num(tf$se), tau2 = num(tf$tau2),
                         ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub), se_k0 = num(tf$se.k0), p_k0 = num(tf$p.k0),
                         yi_filled = num(tf$yi[tf$fill]), vi_filled = num(tf$vi[tf$fill]))
      if (!inherits(tf, "error")) {  # the filled data refitted with the tight control
        rf <- suppressWarnings(rma(as.numeric(tf$yi), as.numeric(tf$vi), method = m, control = ctrl_for(vi)))
        case$refit <- list(beta = num(rf$beta), se = num(rf$se), tau2 = num(rf$tau2), ci_lb = num(rf$ci.lb), ci_ub = num(rf$ci.ub))
      }
      add(case)
    }
    for (pred in c("sei", "vi")) {
      rt <- regtest(f, predictor = pred)
      add(list(kind = "regtest", design = nm, method = m, predictor = pred, yi = yi, vi = vi,
               res = list(zval = num(rt$zval), pval = num(rt$pval), est = num(rt$est),
                          ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub), dfs = num(rt$dfs))))
    }
  }
  for (ex in c(TRUE, FALSE)) {
    f <- rma(yi, vi, method = "EE")
    rk <- suppressWarnings(ranktest(f, exact = ex))
    add(list(kind = "ranktest", design = nm, exact = ex, yi = yi, vi = vi,
             res = list(tau = num(rk$tau), pval = num(rk$pval))))
  }
}

# ---------------- Mantel-Haenszel and Peto ----------------
tabs <- list(
  zeros = data.frame(ai = c(0, 2, 5, 0, 3, 1), n1 = c(20, 25, 40, 15, 30, 22), ci = c(3, 0, 8, 0, 6, 4), n2 = c(20, 24, 41, 16, 28, 20)),
  yusuf_like = data.frame(ai = c(1, 0, 12, 4, 0), n1 = c(50, 45, 200, 80, 30), ci = c(3, 2, 20, 7, 0), n2 = c(50, 44, 198, 82, 31)),
  all_zero_arm = data.frame(ai = c(0, 0, 0, 1), n1 = c(10, 12, 9, 30), ci = c(2, 1, 3, 5), n2 = c(10, 11, 10, 30)),
  li2007 = { d <- dat.li2007; data.frame(ai = d$ai, n1 = d$n1i, ci = d$ci, n2 = d$n2i) },
  collins1985a = { d <- dat.collins1985a; data.frame(ai = d$b.xci, n1 = d$nci, ci = d$b.xti, n2 = d$nti)[, c(1, 2, 3, 4)] }
)
if (exists("dat.yusuf1985")) {
  d <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
  tabs$yusuf1985_t6 <- data.frame(ai = d$ai, n1 = d$n1i, ci = d$ci, n2 = d$n2i)
}
for (nm in names(tabs)) {
  t <- tabs[[nm]]; t <- t[complete.cases(t), ]
  for (ms in c("OR", "RR", "RD")) for (conv in list(list(add = 1/2, to = "only0", drop00 = TRUE),
                                                   list(add = 1/2, to = "all", drop00 = FALSE),
                                                   list(add = 1/2, to = "if0all", drop00 = FALSE),
                                                   list(add = 0, to = "none", drop00 = FALSE))) {
    r <- tryCatch(suppressWarnings(rma.mh(ai = t$ai, n1i = t$n1, ci = t$ci, n2i = t$n2, measure = ms,
                                          add = conv$add, to = conv$to, drop00 = conv$drop00)), error = function(e) e)
    case <- list(kind = "mh", design = nm, measure = ms, add = conv$add, to = conv$to, drop00 = conv$drop00,
                 ai = t$ai, bi = t$n1 - t$ai, ci = t$ci, di = t$n2 - t$ci)
    if (inherits(r, "error")) case$error <- conditionMessage(r) else
      case$res <- list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval), ci_lb = num(r$ci.lb),
                       ci_ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), H2 = num(r$H2),
                       CO = num(r$CO), COp = num(r$COp), MH = num(r$MH), MHp = num(r$MHp), BD = num(r$BD), BDp = num(r$BDp), TA = num(r$TA), TAp = num(r$TAp), k = r$k)
    add(case)
  }
  for (conv in list(list(add = 1/2, to = "only0", drop00 = TRUE), list(add = 1/2, to = "all", drop00 = FALSE),
                    list(add = 0, to = "none", drop00 = FALSE))) {
    r <- tryCatch(suppressWarnings(rma.peto(ai = t$ai, n1i = t$n1, ci = t$ci, n2i = t$n2,
                                            add = conv$add, to = conv$to, drop00 = conv$drop00)), error = function(e) e)
    case <- list(kind = "peto", design = nm, add = conv$add, to = conv$to, drop00 = conv$drop00,
                 ai = t$ai, bi = t$n1 - t$ai, ci = t$ci, di = t$n2 - t$ci)
    if (inherits(r, "error")) case$error <- conditionMessage(r) else
      case$res <- list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval), ci_lb = num(r$ci.lb),
                       ci_ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp), I2 = num(r$I2), k = r$k)
    add(case)
  }
  # escalc with conventions
  for (ms in c("OR", "RR", "RD", "PETO")) for (conv in list(list(add = 1/2, to = "only0", drop00 = FALSE),
                                                          list(add = 1/2, to = "all", drop00 = FALSE),
                                                          list(add = 1/2, to = "if0all", drop00 = FALSE),
                                                          list(add = 1/2, to = "only0", drop00 = TRUE))) {
    e <- suppressWarnings(escalc(measure = ms, ai = t$ai, n1i = t$n1, ci = t$ci, n2i = t$n2,
                                 add = conv$add, to = conv$to, drop00 = conv$drop00))
    add(list(kind = "escalc", design = nm, measure = ms, add = conv$add, to = conv$to, drop00 = conv$drop00,
             ai = t$ai, bi = t$n1 - t$ai, ci = t$ci, di = t$n2 - t$ci, res = list(yi = num(e$yi), vi = num(e$vi))))
  }
}

# ---------------- tau2 CIs ----------------
ci_sets <- list(bcg = list(as.numeric(bcg$yi), as.numeric(bcg$vi)), k3 = list(c(-0.6, 0.1, 0.9), c(0.04, 0.1, 0.03)),
                k30 = list(y30, v30), equal_yi = list(rep(0.25, 6), c(0.01, 0.02, 0.05, 0.1, 0.03, 0.04)),
                dominant = list(c(0.02, 0.5, -0.4, 0.8, 0.3, -0.6, 0.7), c(1e-6, 0.1, 0.12, 0.2, 0.08, 0.15, 0.3)),
                normand1999_MD = list(as.numeric(nd$yi), as.numeric(nd$vi)))
for (nm in names(ci_sets)) {
  yi <- ci_sets[[nm]][[1]]; vi <- ci_sets[[nm]][[2]]
  for (m in c("REML", "ML", "DL", "PM")) {
    f <- suppressWarnings(rma(yi, vi, method = m, control = ctrl_for(vi)))
    qp <- tryCatch(suppressWarnings(confint(f, type = "QP", control = list(tol = 1e-12, maxiter = 10000))), error = function(e) e)
    case <- list(kind = "tau2ci", design = nm, method = m, ci_type = "QP", yi = yi, vi = vi)
    if (inherits(qp, "error")) case$error <- conditionMessage(qp) else
      case$res <- list(tau2 = num(qp$random[1, ]), tau = num(qp$random[2, ]), I2 = num(qp$random[3, ]), H2 = num(qp$random[4, ]))
    add(case)
    if (m %in% c("REML", "ML")) {
      pl <- tryCatch(suppressWarnings(confint(f, type = "PL", control = list(tol = 1e-12, maxiter = 10000))), error = function(e) e)
      case <- list(kind = "tau2ci", design = nm, method = m, ci_type = "PL", yi = yi, vi = vi)
      if (inherits(pl, "error")) case$error <- conditionMessage(pl) else
        case$res <- list(tau2 = num(pl$random[1, ]), tau = num(pl$random[2, ]), I2 = num(pl$random[3, ]), H2 = num(pl$random[4, ]))
      add(case)
    }
  }
}

# ---------------- network (rma.mv contrast design) ----------------
net_case <- function(name, study, t1, t2, yi, vi, ref, method = "REML") {
  trts <- sort(unique(c(t1, t2))); trts <- c(ref, setdiff(trts, ref))
  X <- sapply(trts[-1], function(tr) (t1 == tr) - (t2 == tr))
  X <- matrix(X, ncol = length(trts) - 1); colnames(X) <- trts[-1]
  # multi-arm: covariance within study = variance of shared arm; here we only use 2-arm contrast data
  for (rnd in c(TRUE, FALSE)) {
    if (rnd) f <- rma.mv(yi, vi, mods = X, intercept = FALSE, random = ~ 1 | study, method = method, control = list(rel.tol = 1e-12, iter.max = 1000))
    else f <- rma.mv(yi, vi, mods = X, intercept = FALSE, method = "FE")
    add(list(kind = "network", design = name, random = rnd, method = method, study = study, treat1 = t1, treat2 = t2,
             yi = yi, vi = vi, reference = ref, treatments = trts,
             res = list(beta = num(f$beta), se = num(f$se), tau2 = num(f$sigma2), QE = num(f$QE), loglik = num(logLik(f)))))
  }
}
# senn2013: use the two-arm studies only (multi-arm handled separately by plateau's network_data)
sn <- dat.senn2013
two <- names(which(table(sn$study) == 2))
s2 <- sn[sn$study %in% two, ]
st <- c(); a <- c(); b <- c(); y <- c(); v <- c()
for (s in unique(s2$study)) {
  d <- s2[s2$study == s, ]
  # contrast arm 1 vs arm 2 (mean differences with their variances)
  st <- c(st, s); a <- c(a, d$treatment[1]); b <- c(b, d$treatment[2])
  y <- c(y, d$mi[1] - d$mi[2]); v <- c(v, d$sdi[1]^2 / d$ni[1] + d$sdi[2]^2 / d$ni[2])
}
net_case("senn2013_2arm", st, a, b, y, v, "placebo")

# full senn2013 network including multi-arm studies: contrasts against each study's first arm,
# within-study covariance = variance of the shared arm; random effects with the consistency
# structure (rho = 1/2 between contrasts of one study)
arm <- dat.senn2013
arm$v <- arm$sdi^2 / arm$ni
rows <- list()
for (s in unique(arm$study)) {
  d <- arm[arm$study == s, ]
  for (j in 2:nrow(d)) rows[[length(rows) + 1]] <- data.frame(study = s, t1 = d$treatment[j], t2 = d$treatment[1],
    y = d$mi[j] - d$mi[1], v = d$v[j] + d$v[1], vbase = d$v[1], contrast = paste(d$treatment[j], d$treatment[1]))
}
cd <- do.call(rbind, rows)
V <- matrix(0, nrow(cd), nrow(cd))
for (i in seq_len(nrow(cd))) for (j in seq_len(nrow(cd))) if (cd$study[i] == cd$study[j])
  V[i, j] <- if (i == j) cd$v[i] else cd$vbase[i]
trts <- c("placebo", setdiff(sort(unique(arm$treatment)), "placebo"))
Xc <- sapply(trts[-1], function(tr) (cd$t1 == tr) - (cd$t2 == tr))
cd$cid <- seq_len(nrow(cd))
# all pairwise contrasts per study for plateau's network_data (netmeta convention)
pw <- list()
for (s in unique(arm$study)) {
  d <- arm[arm$study == s, ]
  for (a in 1:(nrow(d) - 1)) for (b in (a + 1):nrow(d))
    pw[[length(pw) + 1]] <- data.frame(study = s, t1 = d$treatment[a], t2 = d$treatment[b],
                                       y = d$mi[a] - d$mi[b], se = sqrt(d$v[a] + d$v[b]))
}
pw <- do.call(rbind, pw)
for (rnd in c(TRUE, FALSE)) {
  if (rnd) {
    f <- tryCatch(rma.mv(y, V, mods = Xc, intercept = FALSE, random = ~ factor(cid) | study, rho = 1/2, data = cd,
                         struct = "CS", method = "REML", control = list(rel.tol = 1e-12, iter.max = 10000)),
                  error = function(e) NULL)
    if (is.null(f)) f <- rma.mv(y, V, mods = Xc, intercept = FALSE, random = ~ factor(cid) | study, rho = 1/2, data = cd,
                                struct = "CS", method = "REML", control = list(optimizer = "optim", reltol = 1e-14, maxit = 10000))
  }
  else f <- rma.mv(cd$y, V, mods = Xc, intercept = FALSE, method = "FE")
  add(list(kind = "network", design = "senn2013_full", random = rnd, method = "REML", study = pw$study,
           treat1 = pw$t1, treat2 = pw$t2, yi = pw$y, vi = pw$se^2, reference = "placebo", treatments = trts,
           res = list(beta = num(f$beta), se = num(f$se), tau2 = num(f$tau2), QE = num(f$QE), loglik = num(logLik(f)))))
}

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"),
           "validation/review/review_designs.json")
cat(length(out), "cases\n")
