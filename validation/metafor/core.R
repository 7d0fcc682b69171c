# Reference values for plateau.meta's core (effect sizes, pool, heterogeneity CIs,
# meta-regression, subgroups) from metafor 3.8.1 on metadat datasets.
#
#   Rscript validation/metafor/core.R      (from the repository root)
#
# writes tests/fixtures/metafor/core_*.json.  Iterative estimators are re-run with tight
# convergence control (Fisher scoring threshold 1e-13, uniroot tol 1e-13, maxiter 1e5) so
# the fixtures hold the converged values, not metafor's default-tolerance ones.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
source("validation/metafor/global_max.R")
stopifnot(packageVersion("metafor") == "3.8.1")
out_dir <- file.path("tests", "fixtures", "metafor")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
tight <- list(threshold = 1e-13, tol = 1e-13, maxiter = 100000)
# Fisher scoring may wobble at the 1e-13 level; relax the step threshold only as far as needed
rma_tight <- function(...) {
  for (th in c(1e-13, 1e-12, 1e-11, 1e-10)) {
    res <- try(suppressWarnings(rma(..., control = list(threshold = th, tol = 1e-13, maxiter = 100000))), silent = TRUE)
    if (!inherits(res, "try-error")) return(rma_global(res))
  }
  res
}
num <- function(x) if (is.null(x)) NA else as.numeric(x)
write_json_file <- function(x, name) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, na = "null", null = "null", pretty = FALSE),
             file.path(out_dir, name))
  cat("wrote", name, "\n")
}

# ------------------------------------------------------------------ datasets (yi, vi)
ds <- list()
add <- function(name, yi, vi, note, weights = NULL, group = NULL, mod = NULL) {
  ds[[name]] <<- list(yi = as.numeric(yi), vi = as.numeric(vi), note = note,
                      weights = if (is.null(weights)) 1 / sqrt(as.numeric(vi)) else as.numeric(weights),
                      group = if (is.null(group)) NULL else as.character(group),
                      mod = if (is.null(mod)) NULL else as.numeric(mod))
}
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_rr", e$yi, e$vi, "dat.bcg, log risk ratio (escalc RR)", weights = dat.bcg$tpos + dat.bcg$tneg + dat.bcg$cpos + dat.bcg$cneg,
    group = dat.bcg$alloc, mod = dat.bcg$ablat)
e <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_or", e$yi, e$vi, "dat.bcg, log odds ratio (escalc OR)")
e <- escalc("RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_rd", e$yi, e$vi, "dat.bcg, risk difference (escalc RD)")
e <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
add("normand_md", e$yi, e$vi, "dat.normand1999, mean difference (escalc MD)", weights = dat.normand1999$n1i + dat.normand1999$n2i)
e <- escalc("PR", xi = xi, ni = ni, data = dat.pritz1997)
add("pritz_pr", e$yi, e$vi, "dat.pritz1997, raw proportion (escalc PR)", weights = dat.pritz1997$ni)
e <- escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997)
add("pritz_plo", e$yi, e$vi, "dat.pritz1997, logit proportion (escalc PLO)", weights = dat.pritz1997$ni)
add("pignon_loghr", dat.pignon2000$OmE / dat.pignon2000$V, 1 / dat.pignon2000$V,
    "dat.pignon2000, log HR from O-E and V (yi = (O-E)/V, vi = 1/V)", group = dat.pignon2000$grp)
e <- escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dat.hart1999)
add("hart_irr", e$yi, e$vi, "dat.hart1999, log incidence rate ratio (escalc IRR)")
e <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add("molloy_zcor", e$yi, e$vi, "dat.molloy2014, Fisher z (escalc ZCOR)", weights = dat.molloy2014$ni)
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_k2", e$yi[1:2], e$vi[1:2], "dat.bcg studies 1-2 (k = 2)")
add("bcg_k3", e$yi[c(1, 5, 9)], e$vi[c(1, 5, 9)], "dat.bcg studies 1, 5, 9 (k = 3)")
add("homogeneous", c(-0.3, -0.1, 0.2, -0.5, 0.05), c(0.04, 0.02, 0.05, 0.1, 0.03),
    "constructed; Q < k - 1 so tau2 = 0 for most estimators")
add("extreme_het", c(-3.1, 2.4, 0.5, 4.2, -1.5, 0.9), c(0.010, 0.020, 0.015, 0.050, 0.012, 0.030),
    "constructed; huge heterogeneity (I2 > 99%)")

methods <- c("EE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM", "GENQ")
tests <- c("z", "knha", "adhoc")

fit_record <- function(name, d, method, test, res, extra = list()) {
  pr <- predict(res)
  c(list(dataset = name, method = method, test = test,
         estimate = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
         ci_low = num(res$ci.lb), ci_high = num(res$ci.ub), tau2 = num(res$tau2),
         se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE),
         q_pval = num(res$QEp), pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub),
         weights = as.numeric(weights(res)), k = res$k), extra)
}

fits <- list()
for (name in names(ds)) {
  d <- ds[[name]]
  for (method in methods) for (test in tests) {
    res <- if (method == "GENQ") rma_tight(d$yi, d$vi, method = method, test = test, weights = d$weights)
           else rma_tight(d$yi, d$vi, method = method, test = test)
    if (inherits(res, "try-error")) { cat("skip", name, method, test, ":", res); next }
    fits[[length(fits) + 1]] <- fit_record(name, d, method, test, res)
  }
  # fixed tau2 (metafor's tau2= argument)
  for (method in c("REML", "DL", "PM")) {
    res <- rma_tight(d$yi, d$vi, method = method, tau2 = 0.05)
    fits[[length(fits) + 1]] <- fit_record(name, d, method, "z", res, list(tau2_fixed = 0.05))
  }
  # user weights with a non-GENQ estimator (weighted estimate, sandwich variance)
  res <- rma_tight(d$yi, d$vi, method = "REML", weights = d$weights)
  fits[[length(fits) + 1]] <- fit_record(name, d, "REML", "z", res, list(user_weights = TRUE))
}
write_json_file(list(metafor = as.character(packageVersion("metafor")), control = tight,
                     datasets = lapply(ds, function(d) d[c("yi", "vi", "weights", "note")]),
                     fits = fits), "core_pool.json")

# ------------------------------------------------------------------ heterogeneity CIs
cis <- list()
for (name in names(ds)) {
  d <- ds[[name]]
  for (method in c("REML", "ML", "DL", "PM", "HE", "SJ")) {
    res <- rma_tight(d$yi, d$vi, method = method)
    for (type in c("QP", "PL")) {
      if (type == "PL" && !(method %in% c("REML", "ML"))) next
      ci <- try(suppressWarnings(confint(res, type = type, control = list(tol = 1e-13, maxiter = 10000))), silent = TRUE)
      if (inherits(ci, "try-error")) { cat("skip ci", name, method, type, "\n"); next }
      r <- ci$random
      cis[[length(cis) + 1]] <- list(dataset = name, method = method, type = type, level = 0.95,
        tau2 = num(r[1, ]), tau = num(r[2, ]), i2 = num(r[3, ]), h2 = num(r[4, ]))
    }
  }
  res <- rma_tight(d$yi, d$vi, method = "REML")
  ci <- confint(res, type = "QP", level = 90, control = list(tol = 1e-13))
  r <- ci$random
  cis[[length(cis) + 1]] <- list(dataset = name, method = "REML", type = "QP", level = 0.90,
    tau2 = num(r[1, ]), tau = num(r[2, ]), i2 = num(r[3, ]), h2 = num(r[4, ]))
}
write_json_file(list(metafor = as.character(packageVersion("metafor")), cis = cis), "core_confint.json")

# ------------------------------------------------------------------ meta-regression
regs <- list()
reg_record <- function(name, formula_text, X, method, test, res, newx) {
  pr <- predict(res, newmods = newx)
  list(dataset = name, model = formula_text, X = unname(lapply(seq_len(nrow(X)), function(i) as.numeric(X[i, ]))),
       method = method, test = test,
       coef = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
       ci_low = num(res$ci.lb), ci_high = num(res$ci.ub),
       vcov = unname(lapply(seq_len(nrow(res$vb)), function(i) as.numeric(res$vb[i, ]))),
       tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
       r2 = num(res$R2), qe = num(res$QE), qe_pval = num(res$QEp), qm = num(res$QM), qm_pval = num(res$QMp),
       qm_df = as.numeric(res$QMdf),
       newx = unname(lapply(seq_len(nrow(newx)), function(i) as.numeric(newx[i, ]))),
       pred = num(pr$pred), pred_se = num(pr$se), pred_ci_low = num(pr$ci.lb), pred_ci_high = num(pr$ci.ub),
       pred_pi_low = num(pr$pi.lb), pred_pi_high = num(pr$pi.ub))
}
b <- ds$bcg_rr
Xa <- cbind(ablat = dat.bcg$ablat)
Xay <- cbind(ablat = dat.bcg$ablat, year = dat.bcg$year)
for (method in c("REML", "ML", "DL", "PM", "EB", "HE", "SJ", "HS", "EE")) for (test in c("z", "knha")) {
  res <- rma_tight(b$yi, b$vi, mods = Xa, method = method, test = test)
  regs[[length(regs) + 1]] <- reg_record("bcg_rr", "~ ablat", Xa, method, test, res, cbind(c(10, 30, 50)))
  res <- rma_tight(b$yi, b$vi, mods = Xay, method = method, test = test)
  regs[[length(regs) + 1]] <- reg_record("bcg_rr", "~ ablat + year", Xay, method, test, res,
                                         cbind(c(10, 30, 50), c(1950, 1960, 1970)))
}
p <- ds$pignon_loghr
Xg <- model.matrix(~ factor(dat.pignon2000$grp))[, -1, drop = FALSE]
for (method in c("REML", "DL")) for (test in c("z", "knha")) {
  res <- rma_tight(p$yi, p$vi, mods = Xg, method = method, test = test)
  regs[[length(regs) + 1]] <- reg_record("pignon_loghr", "~ factor(grp)", Xg, method, test, res, rbind(c(0, 0), c(1, 0), c(0, 1)))
}
write_json_file(list(metafor = as.character(packageVersion("metafor")), regressions = regs), "core_regression.json")

# ------------------------------------------------------------------ subgroups
subs <- list()
for (name in c("bcg_rr", "pignon_loghr")) {
  d <- ds[[name]]
  g <- factor(d$group)
  for (method in c("REML", "DL", "PM")) for (test in c("z", "knha")) {
    # common tau2: one mixed-effects model; QM tests the subgroup differences
    common <- rma_tight(d$yi, d$vi, mods = ~ g, method = method, test = test)
    cell <- rma_tight(d$yi, d$vi, mods = ~ g - 1, method = method, test = test)
    # separate tau2: one random-effects model per subgroup, Q-between from their estimates
    per <- lapply(levels(g), function(l) rma_tight(d$yi[g == l], d$vi[g == l], method = method, test = test))
    est <- sapply(per, function(r) as.numeric(r$beta)); se <- sapply(per, function(r) r$se)
    qb <- rma_tight(est, sei = se, method = "EE")
    subs[[length(subs) + 1]] <- list(dataset = name, method = method, test = test, levels = levels(g),
      common = list(estimate = num(cell$beta), se = num(cell$se), ci_low = num(cell$ci.lb), ci_high = num(cell$ci.ub),
                    pval = num(cell$pval), tau2 = num(common$tau2), qm = num(common$QM), qm_pval = num(common$QMp),
                    qm_df = as.numeric(common$QMdf), qe = num(common$QE), qe_pval = num(common$QEp)),
      separate = list(estimate = est, se = se, ci_low = sapply(per, function(r) r$ci.lb), ci_high = sapply(per, function(r) r$ci.ub),
                      tau2 = sapply(per, function(r) r$tau2), i2 = sapply(per, function(r) r$I2),
                      k = sapply(per, function(r) r$k), q_between = num(qb$QE), q_between_pval = num(qb$QEp)))
  }
}
write_json_file(list(metafor = as.character(packageVersion("metafor")), datasets = lapply(ds[c("bcg_rr", "pignon_loghr")], function(d) d[c("yi", "vi", "group")]),
                     subgroups = subs), "core_subgroup.json")

# ------------------------------------------------------------------ escalc
esc <- list()
rec <- function(name, measure, args, e) {
  esc[[length(esc) + 1]] <<- list(name = name, measure = measure, args = args, yi = as.numeric(e$yi), vi = as.numeric(e$vi))
}
bcg <- list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
zero <- list(ai = c(0, 3, 0, 12, 5, 0), bi = c(50, 47, 40, 88, 0, 30), ci = c(4, 0, 0, 20, 7, 2), di = c(46, 50, 40, 80, 3, 28))
for (m in c("RR", "OR", "RD", "PETO")) {
  rec("bcg", m, bcg, do.call(escalc, c(list(measure = m), bcg)))
  rec("zero_cells", m, zero, do.call(escalc, c(list(measure = m), zero)))
}
rec("zero_cells_to_all", "OR", c(zero, list(to = "all")), do.call(escalc, c(list(measure = "OR", to = "all"), zero)))
rec("zero_cells_drop00", "RR", c(zero, list(drop00 = TRUE)), do.call(escalc, c(list(measure = "RR", drop00 = TRUE), zero)))
rec("zero_cells_add0", "OR", c(zero, list(add = 0)), do.call(escalc, c(list(measure = "OR", add = 0), zero)))
hart <- list(x1i = dat.hart1999$x1i, t1i = dat.hart1999$t1i, x2i = dat.hart1999$x2i, t2i = dat.hart1999$t2i)
hart0 <- list(x1i = c(0, 4, 0, 10), t1i = c(100, 250, 80, 400), x2i = c(3, 0, 0, 12), t2i = c(110, 240, 90, 380))
for (m in c("IRR", "IRD")) {
  rec("hart1999", m, hart, do.call(escalc, c(list(measure = m), hart)))
  rec("rate_zero", m, hart0, do.call(escalc, c(list(measure = m), hart0)))
}
pritz <- list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni)
prop0 <- list(xi = c(0, 5, 20, 12), ni = c(20, 30, 20, 40))
for (m in c("PR", "PLO")) {
  rec("pritz1997", m, pritz, do.call(escalc, c(list(measure = m), pritz)))
  rec("prop_zero", m, prop0, do.call(escalc, c(list(measure = m), prop0)))
}
write_json_file(list(metafor = as.character(packageVersion("metafor")), escalc = esc), "core_escalc.json")
