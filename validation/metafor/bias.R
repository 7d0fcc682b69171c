# Reference values for plateau.meta.bias (regtest, ranktest, trimfill, fsn; PET-PEESE is the pair
# of regtest(model = "lm") fits with predictors sei and vi) from metafor 3.8.1.
# Run from the repository root:  Rscript validation/metafor/bias.R
# Writes tests/fixtures/metafor/bias.json.  Iterative tau2 estimators use tight convergence
# control (Fisher scoring threshold 1e-13, uniroot tol 1e-13, maxiter 1e5).
suppressPackageStartupMessages(library(metafor))
source("validation/metafor/json17.R")
source("validation/metafor/global_max.R")
options(warn = -1)
tight <- list(threshold = 1e-13, tol = 1e-13, maxiter = 100000)
skipped <- character(0)
fit_rma <- function(label, ...) {
  fit <- try(rma(..., control = tight), silent = TRUE)
  if (inherits(fit, "try-error")) {
    # REML Fisher scoring can stall just above a 1e-13 step threshold when tau2 is large
    # (normand1999); step halving with a 1e-11 threshold converges.
    fit <- try(rma(..., control = list(threshold = 1e-11, stepadj = 0.5, maxiter = 100000)),
               silent = TRUE)
  }
  if (inherits(fit, "try-error")) {
    skipped <<- c(skipped, paste(label, conditionMessage(attr(fit, "condition"))))
    return(NULL)
  }
  rma_global(fit)
}

ds <- list()
add_ds <- function(name, yi, vi, ni = NULL) {
  ds[[name]] <<- list(yi = I(as.numeric(yi)), vi = I(as.numeric(vi)),
                      ni = if (is.null(ni)) NULL else I(as.numeric(ni)))
}
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_ds("bcg_rr", e$yi, e$vi, with(dat.bcg, tpos + tneg + cpos + cneg))
add_ds("hackshaw1998_or", dat.hackshaw1998$yi, dat.hackshaw1998$vi)
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
add_ds("egger2001_or", e$yi, e$vi, with(dat.egger2001, n1i + n2i))
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
add_ds("lee2004_or", e$yi, e$vi, with(dat.lee2004, n1i + n2i))
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add_ds("li2007_or", e$yi, e$vi, with(dat.li2007, n1i + n2i))
e <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_ds("molloy2014_zcor", e$yi, e$vi, dat.molloy2014$ni)
e <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
            data = dat.normand1999)
add_ds("normand1999_md", e$yi, e$vi, with(dat.normand1999, n1i + n2i))
e <- escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997)
add_ds("pritz1997_plo", e$yi, e$vi, dat.pritz1997$ni)
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.nielweise2007)
add_ds("nielweise2007_or", e$yi, e$vi, with(dat.nielweise2007, n1i + n2i))

regtests <- list(); ranktests <- list(); fsns <- list(); trimfills <- list()

for (nm in names(ds)) {
  d <- ds[[nm]]
  yi <- as.numeric(d$yi); vi <- as.numeric(d$vi)
  ni <- if (is.null(d$ni)) NULL else as.numeric(d$ni)
  preds <- if (is.null(ni)) c("sei", "vi") else c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
  # classic weighted regression (model = "lm")
  for (pr in preds) {
    r <- if (is.null(ni)) regtest(yi, vi, model = "lm", predictor = pr) else
      regtest(yi, vi, ni = ni, model = "lm", predictor = pr)
    cf <- coef(summary(r$fit))
    regtests[[length(regtests) + 1]] <- list(
      dataset = nm, model = "lm", predictor = pr, method = "", test = "t",
      zval = r$zval, pval = r$pval, ddf = r$ddf,
      est = if (is.null(r$est)) NA else unname(r$est),
      ci_lb = if (is.null(r$ci.lb)) NA else unname(r$ci.lb),
      ci_ub = if (is.null(r$ci.ub)) NA else unname(r$ci.ub),
      coef = I(unname(cf[, 1])), se = I(unname(cf[, 2])), pvals = I(unname(cf[, 4])), tau2 = NA)
  }
  # mixed-effects versions (model = "rma")
  combos <- list(c("REML", "z", "sei"), c("DL", "z", "sei"), c("FE", "z", "sei"),
                 c("ML", "z", "sei"), c("PM", "z", "sei"), c("REML", "knha", "sei"),
                 c("DL", "knha", "sei"), c("REML", "z", "vi"), c("REML", "adhoc", "sei"),
                 c("SJ", "z", "sei"), c("HE", "knha", "vi"))
  if (!is.null(ni)) combos <- c(combos, list(c("REML", "z", "ninv"), c("DL", "z", "sqrtni")))
  for (cb in combos) {
    fit <- fit_rma(paste(nm, "regtest", paste(cb, collapse = "/")), yi, vi, method = cb[1],
                   test = cb[2])
    if (is.null(fit)) next
    fit$ni <- ni
    r <- try(regtest(fit, model = "rma", predictor = cb[3]), silent = TRUE)
    if (inherits(r, "try-error")) next
    # regtest() refits with Fisher scoring from the default start: keep the global maximum
    g <- rma_global(r$fit)
    if (global_refit(g)) {
      r$fit <- g; r$zval <- g$zval[2]; r$pval <- g$pval[2]
      r$est <- g$beta[1]; r$ci.lb <- g$ci.lb[1]; r$ci.ub <- g$ci.ub[1]
    }
    regtests[[length(regtests) + 1]] <- list(
      dataset = nm, model = "rma", predictor = cb[3], method = cb[1], test = cb[2],
      zval = unname(r$zval), pval = unname(r$pval), ddf = if (is.null(r$ddf)) NA else r$ddf,
      est = if (is.null(r$est)) NA else unname(r$est),
      ci_lb = if (is.null(r$ci.lb)) NA else unname(r$ci.lb),
      ci_ub = if (is.null(r$ci.ub)) NA else unname(r$ci.ub),
      coef = I(unname(c(r$fit$beta))), se = I(unname(r$fit$se)), pvals = I(unname(r$fit$pval)),
      tau2 = r$fit$tau2, global_refit = global_refit(g))
  }
  rk <- ranktest(yi, vi)
  ranktests[[length(ranktests) + 1]] <- list(dataset = nm, tau = unname(rk$tau), pval = rk$pval)
  rk <- ranktest(yi, vi, exact = FALSE)
  ranktests[[length(ranktests) + 1]] <- list(dataset = nm, exact = FALSE, tau = unname(rk$tau),
                                             pval = rk$pval)
  for (ty in c("Rosenthal", "Orwin", "Rosenberg")) {
    f <- fsn(yi, vi, type = ty)
    fsns[[length(fsns) + 1]] <- list(dataset = nm, type = ty, alpha = 0.05, weighted = FALSE,
      target = NA, fsnum = f$fsnum, pval = f$pval, meanes = f$meanes, target_out = f$target)
  }
  f <- fsn(yi, vi, type = "Rosenthal", alpha = 0.01)
  fsns[[length(fsns) + 1]] <- list(dataset = nm, type = "Rosenthal", alpha = 0.01,
    weighted = FALSE, target = NA, fsnum = f$fsnum, pval = f$pval, meanes = f$meanes,
    target_out = f$target)
  f <- fsn(yi, vi, type = "Orwin", weighted = TRUE, target = 0.05)
  fsns[[length(fsns) + 1]] <- list(dataset = nm, type = "Orwin", alpha = 0.05, weighted = TRUE,
    target = 0.05, fsnum = f$fsnum, pval = f$pval, meanes = f$meanes, target_out = f$target)
  # trim and fill
  for (cb in list(c("REML", "z", "L0", ""), c("REML", "z", "R0", ""), c("DL", "z", "L0", ""),
                  c("FE", "z", "L0", ""), c("FE", "z", "R0", ""), c("DL", "knha", "L0", ""),
                  c("REML", "z", "L0", "left"), c("REML", "z", "L0", "right"),
                  c("PM", "z", "R0", "right"))) {
    fit <- fit_rma(paste(nm, "trimfill", paste(cb, collapse = "/")), yi, vi, method = cb[1],
                   test = cb[2])
    if (is.null(fit)) next
    args <- list(fit, estimator = cb[3], control = fit$control, test = cb[2])
    if (cb[4] != "") args$side <- cb[4]
    tf <- try(do.call(trimfill, args), silent = TRUE)
    if (inherits(tf, "try-error")) {
      skipped <- c(skipped, paste(nm, "trimfill", paste(cb, collapse = "/"),
                                  conditionMessage(attr(tf, "condition"))))
      next
    }
    trimfills[[length(trimfills) + 1]] <- list(
      dataset = nm, method = cb[1], test = cb[2], estimator = cb[3], side_in = cb[4],
      k0 = tf$k0, se_k0 = tf$se.k0, p_k0 = tf$p.k0, side = tf$side,
      beta = c(tf$beta), se = tf$se, zval = tf$zval, pval = tf$pval, ci_lb = tf$ci.lb,
      ci_ub = tf$ci.ub, tau2 = tf$tau2, QE = tf$QE, k = tf$k,
      yi = I(as.numeric(tf$yi)), vi = I(as.numeric(tf$vi)), fill = I(tf$fill))
  }
}

write_json17(list(metafor_version = as.character(packageVersion("metafor")),
                  generated_by = "validation/metafor/bias.R", control = tight,
                  datasets = ds, regtest = regtests, ranktest = ranktests, fsn = fsns,
                  trimfill = trimfills, skipped = I(skipped)),
             "tests/fixtures/metafor/bias.json")
