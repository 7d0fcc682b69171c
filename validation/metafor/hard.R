# Hard designs for plateau.meta's (RE)ML maximiser and its precision, from metafor 3.8.1.
# Run from the repository root:  Rscript validation/metafor/hard.R   (1-4 minutes)
# Writes tests/fixtures/metafor/hard.json:
#   * "reproducer": the k = 10 REML analysis where Fisher/Newton iterations can be pulled onto
#     tau2 = 0 below a higher interior maximum (metafor: tau2 0.10933, estimate -0.05395);
#   * bimodal (restricted) likelihoods found by simulation (seeded): intercept-only analyses
#     (k = 10, a mix of precise and imprecise studies) whose ML or REML likelihood in tau2 has
#     two local maxima, and one-moderator meta-regressions with the same property;
#   * one dominant study: yi = (0.5, -0.2, 0.9, 0.1, 0.4), vi = (0.1 r, 0.1, 0.2, 0.15, 0.3)
#     for r = 1, 1e-2, 1e-4, 1e-6 (smaller r is tested against mpmath in the Python tests,
#     where metafor's k x k matrix products themselves lose the digits);
#   * boundary cases (tau2 = 0 at the maximum).
# Every ML/REML reference goes through rma_global() (validation/metafor/global_max.R): the
# value at metafor's global maximum.  "default_tau2" keeps what rma() returns with default
# control and start, to document where that is only a local maximum.
suppressPackageStartupMessages(library(metafor))
source("validation/metafor/json17.R")
source("validation/metafor/global_max.R")
options(warn = -1)
tight <- list(threshold = 1e-13, tol = 1e-13, maxiter = 100000)

n_local_max <- function(yi, vi, X, method) {
  r_ols <- lm.fit(X, yi)$residuals
  s <- max(sum(r_ols^2) / (length(yi) - ncol(X)), min(vi))
  t <- c(0, s * 10^seq(-6, 2, length.out = 300))
  ll <- vapply(t, function(x) ll_tau2(yi, vi, X, x, method), numeric(1))
  d <- diff(ll)
  sum(d[-1] < 0 & d[-length(d)] > 0) + (d[1] < 0)
}

fit_case <- function(yi, vi, method, mods = NULL) {
  args <- list(yi = yi, vi = vi, method = method, control = tight)
  if (!is.null(mods)) args$mods <- mods
  f <- try(do.call(rma, args), silent = TRUE)
  if (inherits(f, "try-error"))
    f <- do.call(rma, modifyList(args, list(control = list(threshold = 1e-11, stepadj = 0.5,
                                                          maxiter = 100000))))
  dargs <- args; dargs$control <- NULL
  d <- try(do.call(rma, dargs), silent = TRUE)
  g <- rma_global(f)
  list(method = method, beta = I(as.numeric(g$beta)), se = I(as.numeric(g$se)),
       pval = I(as.numeric(g$pval)), ci_lb = I(as.numeric(g$ci.lb)),
       ci_ub = I(as.numeric(g$ci.ub)), tau2 = g$tau2,
       se_tau2 = if (is.null(g$se.tau2)) NA else g$se.tau2, I2 = g$I2, H2 = g$H2, QE = g$QE,
       QEp = g$QEp, ll = if (method %in% c("ML", "REML")) as.numeric(logLik(g)) else NA,
       default_tau2 = if (inherits(d, "try-error")) NA else d$tau2,
       global_refit = global_refit(g))
}

cases <- list()
add_case <- function(name, kind, yi, vi, mods = NULL, methods = c("ML", "REML", "DL", "PM", "EB")) {
  fits <- lapply(methods, function(m) fit_case(yi, vi, m, mods))
  cases[[length(cases) + 1]] <<- list(name = name, kind = kind, yi = I(yi), vi = I(vi),
                                      mods = if (is.null(mods)) NULL else I(as.numeric(mods)),
                                      fits = fits)
}

add_case("reproducer", "reproducer",
         c(-0.5, 0.13, -0.93, 1.16, -0.32, 1.33, -0.17, 0.2, -0.21, -0.19),
         c(0.05, 0.12, 0.34, 0.37, 0.42, 0.28, 0.03, 0.29, 0.41, 0.01))

set.seed(20261206)
found <- c(ML = 0, REML = 0)
for (i in 1:6000) {
  if (all(found >= 8)) break
  k <- 10
  vi <- ifelse(runif(k) < 0.3, runif(k, 0.005, 0.05), runif(k, 0.1, 0.45))
  yi <- round(rnorm(k, 0, sqrt(vi + 0.1)), 4)
  X <- matrix(1, k, 1)
  for (m in c("ML", "REML")) {
    if (found[m] < 8 && n_local_max(yi, vi, X, m) > 1) {
      found[m] <- found[m] + 1
      add_case(sprintf("bimodal_%s_%d", m, found[m]), paste0("bimodal_", m), yi, vi)
      break
    }
  }
}
set.seed(7)
nreg <- 0
for (i in 1:1500) {
  if (nreg >= 6) break
  k <- 12
  vi <- ifelse(runif(k) < 0.3, runif(k, 0.005, 0.05), runif(k, 0.1, 0.45))
  x <- round(rnorm(k), 3)
  yi <- round(0.2 * x + rnorm(k, 0, sqrt(vi + 0.1)), 4)
  X <- cbind(1, x)
  if (n_local_max(yi, vi, X, "ML") > 1 || n_local_max(yi, vi, X, "REML") > 1) {
    nreg <- nreg + 1
    add_case(sprintf("bimodal_regression_%d", nreg), "bimodal_regression", yi, vi, mods = x,
             methods = c("ML", "REML", "DL"))
  }
}
for (r in c(1, 1e-2, 1e-4, 1e-6)) {
  add_case(sprintf("dominant_%g", r), "dominant", c(0.5, -0.2, 0.9, 0.1, 0.4),
           c(0.1 * r, 0.1, 0.2, 0.15, 0.3))
}
add_case("boundary", "boundary", c(-0.3, -0.1, 0.2, -0.5, 0.05), c(0.04, 0.02, 0.05, 0.1, 0.03))
add_case("k2", "boundary", c(0.1, 0.5), c(0.02, 0.05))

write_json17(list(metafor_version = as.character(packageVersion("metafor")),
                  generated_by = "validation/metafor/hard.R", control = tight, cases = cases),
             "tests/fixtures/metafor/hard.json")
