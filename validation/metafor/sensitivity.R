# Reference values for plateau.meta.sensitivity (leave1out, cumul, influence) from metafor 3.8.1.
# Run from the repository root:  Rscript validation/metafor/sensitivity.R
# Writes tests/fixtures/metafor/sensitivity.json.  Iterative tau2 estimators use tight
# convergence control (Fisher scoring threshold 1e-13, uniroot tol 1e-13, maxiter 1e5).
suppressPackageStartupMessages(library(metafor))
source("validation/metafor/json17.R")
source("validation/metafor/global_max.R")
options(warn = -1)
tight <- list(threshold = 1e-13, tol = 1e-13, maxiter = 100000)

ds <- list()
add_ds <- function(name, yi, vi, mods = NULL, order = NULL) {
  ds[[name]] <<- list(yi = I(as.numeric(yi)), vi = I(as.numeric(vi)),
                      mods = if (is.null(mods)) NULL else as.matrix(mods),
                      order = if (is.null(order)) NULL else I(as.numeric(order)))
}
e <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_ds("bcg_rr", e$yi, e$vi, mods = cbind(dat.bcg$ablat, dat.bcg$year), order = dat.bcg$year)
add_ds("hackshaw1998_or", dat.hackshaw1998$yi, dat.hackshaw1998$vi, order = dat.hackshaw1998$year)
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
add_ds("egger2001_or", e$yi, e$vi, order = dat.egger2001$year)
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
add_ds("lee2004_or", e$yi, e$vi, order = dat.lee2004$year)
e <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_ds("molloy2014_zcor", e$yi, e$vi, mods = cbind(dat.molloy2014$meanage),
       order = dat.molloy2014$year)
e <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
            data = dat.normand1999)
add_ds("normand1999_md", e$yi, e$vi)
e <- escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997)
add_ds("pritz1997_plo", e$yi, e$vi)
e <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add_ds("li2007_or", e$yi, e$vi, order = dat.li2007$year)
e <- escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.hine1989)
add_ds("hine1989_rr", e$yi, e$vi)

fit_rma <- function(...) {
  fit <- try(rma(..., control = tight), silent = TRUE)
  if (inherits(fit, "try-error"))  # see bias.R: REML step halving for large tau2
    fit <- rma(..., control = list(threshold = 1e-11, stepadj = 0.5, maxiter = 100000))
  rma_global(fit)
}
# leave1out()/cumul()/influence() refit each subset with Fisher scoring from metafor's default
# start and can stop at a local maximum (tau2 = 0 below a higher interior maximum).  Each ML/REML
# subset is refitted here through rma_global(); where that finds a higher (restricted)
# likelihood the row is replaced by the global refit (leave1out, cumul) and its index recorded
# in `global_rows` (1-based).
refit_row <- function(seq, row, g) {
  seq$estimate[row] <- g$beta[1]; seq$se[row] <- g$se[1]; seq$zval[row] <- g$zval[1]
  seq$pval[row] <- g$pval[1]; seq$ci_lb[row] <- g$ci.lb[1]; seq$ci_ub[row] <- g$ci.ub[1]
  seq$Q[row] <- g$QE; seq$Qp[row] <- g$QEp; seq$tau2[row] <- g$tau2
  seq$I2[row] <- g$I2; seq$H2[row] <- g$H2
  seq
}
globalise <- function(seq, subsets, yi, vi, method, test) {
  rows <- integer(0)
  if (!(method %in% c("ML", "REML"))) return(c(seq, list(global_rows = I(rows))))
  for (row in seq_along(subsets)) {
    sub <- subsets[[row]]
    if (length(sub) < 2) next
    f <- try(rma(yi[sub], vi[sub], method = method, test = test, control = tight), silent = TRUE)
    if (inherits(f, "try-error")) next
    g <- rma_global(f)
    if (global_refit(g) && (is.na(seq$tau2[row]) || abs(g$tau2 - seq$tau2[row]) > 1e-8)) {
      seq <- refit_row(seq, row, g); rows <- c(rows, row)
    }
  }
  c(seq, list(global_rows = I(rows)))
}
seqcols <- function(x) {
  df <- as.data.frame(x)
  list(estimate = I(df$estimate), se = I(df$se), zval = I(if (!is.null(df$zval)) df$zval else df$tval),
       pval = I(df$pval), ci_lb = I(df$ci.lb), ci_ub = I(df$ci.ub), Q = I(df$Q), Qp = I(df$Qp),
       tau2 = if (is.null(df$tau2)) NULL else I(df$tau2), I2 = I(df$I2), H2 = I(df$H2))
}

l1o <- list(); cum <- list(); inf <- list()
combos <- list(c("REML", "z"), c("DL", "z"), c("FE", "z"), c("REML", "knha"), c("PM", "z"),
               c("ML", "adhoc"), c("SJ", "z"), c("HE", "knha"), c("EB", "z"))
for (nm in names(ds)) {
  d <- ds[[nm]]
  yi <- as.numeric(d$yi); vi <- as.numeric(d$vi)
  for (cb in combos) {
    fit <- fit_rma(yi, vi, method = cb[1], test = cb[2])
    k <- length(yi)
    l1o[[length(l1o) + 1]] <- c(list(dataset = nm, method = cb[1], test = cb[2]),
                                globalise(seqcols(leave1out(fit)), lapply(seq_len(k), function(i) seq_len(k)[-i]),
                                          yi, vi, cb[1], cb[2]))
    if (!is.null(d$order)) {
      cu <- cumul(fit, order = as.numeric(d$order))
      o <- order(as.numeric(d$order))
      cum[[length(cum) + 1]] <- c(list(dataset = nm, method = cb[1], test = cb[2], ordered = TRUE),
                                  globalise(seqcols(cu), lapply(seq_len(k), function(j) o[seq_len(j)]),
                                            yi, vi, cb[1], cb[2]))
    }
    cu <- cumul(fit)
    cum[[length(cum) + 1]] <- c(list(dataset = nm, method = cb[1], test = cb[2], ordered = FALSE),
                                globalise(seqcols(cu), lapply(seq_len(k), function(j) seq_len(j)),
                                          yi, vi, cb[1], cb[2]))
    infl <- influence(fit)
    tau2_del <- infl$inf$tau2.del; grow <- integer(0)
    if (cb[1] %in% c("ML", "REML")) for (i in seq_len(k)) {
      f <- try(rma(yi[-i], vi[-i], method = cb[1], test = cb[2], control = tight), silent = TRUE)
      if (inherits(f, "try-error")) next
      g <- rma_global(f)
      if (global_refit(g) && (is.na(tau2_del[i]) || abs(g$tau2 - tau2_del[i]) > 1e-8)) {
        tau2_del[i] <- g$tau2; grow <- c(grow, i)
      }
    }
    inf[[length(inf) + 1]] <- list(dataset = nm, method = cb[1], test = cb[2], mods = FALSE,
      rstudent = I(infl$inf$rstudent), dffits = I(infl$inf$dffits), cook_d = I(infl$inf$cook.d),
      cov_r = I(infl$inf$cov.r), tau2_del = I(tau2_del), QE_del = I(infl$inf$QE.del),
      hat = I(infl$inf$hat), weight = I(infl$inf$weight), inf = I(infl$is.infl),
      dfbs = as.matrix(as.data.frame(unclass(infl$dfbs)[seq_len(length(infl$dfbs) - 2)])),
      global_rows = I(grow))
    if (!is.null(d$mods) && cb[1] %in% c("REML", "DL", "FE")) {
      fit <- fit_rma(yi, vi, mods = d$mods, method = cb[1], test = cb[2])
      infl <- influence(fit)
      inf[[length(inf) + 1]] <- list(dataset = nm, method = cb[1], test = cb[2], mods = TRUE,
        rstudent = I(infl$inf$rstudent), dffits = I(infl$inf$dffits), cook_d = I(infl$inf$cook.d),
        cov_r = I(infl$inf$cov.r), tau2_del = I(infl$inf$tau2.del), QE_del = I(infl$inf$QE.del),
        hat = I(infl$inf$hat), weight = I(infl$inf$weight), inf = I(infl$is.infl),
        dfbs = as.matrix(as.data.frame(unclass(infl$dfbs)[seq_len(length(infl$dfbs) - 2)])))
    }
  }
}
write_json17(list(metafor_version = as.character(packageVersion("metafor")),
                  generated_by = "validation/metafor/sensitivity.R", control = tight,
                  datasets = ds, leave1out = l1o, cumul = cum, influence = inf),
             "tests/fixtures/metafor/sensitivity.json")
