# Global-maximum check for metafor's ML/REML fits (used by core.R, bias.R, sensitivity.R, hard.R).
#
# metafor's Fisher scoring (rma.uni) can stop at a local maximum of the (restricted) likelihood,
# typically the boundary tau2 = 0 when an interior maximum is higher.  An oracle must hold the
# global maximum, so every ML/REML reference fit goes through rma_global():
#   1. the (restricted) log-likelihood, written out here independently of metafor,
#        ML:   -k/2 log(2 pi) - 1/2 sum log(v_i + t) - 1/2 r'W r
#        REML: -(k-p)/2 log(2 pi) + 1/2 log|X'X| - 1/2 sum log(v_i + t) - 1/2 log|X'WX| - 1/2 r'W r
#      (metafor's REMLf = TRUE constants; W = diag(1/(v_i + t)), r the GLS residuals),
#      is evaluated on 0 and 600 log-spaced tau2 values s 10^(-9 .. 2.5), s = the unweighted
#      residual variance;
#   2. if a grid value beats metafor's logLik(fit) by more than 1e-9, metafor is re-run from the
#      best grid point (control tau2.init) and, failing that, its tau2 is polished with
#      optimize() on the bracket of the two neighbouring grid points and metafor is re-run from
#      there; the fit with the higher metafor logLik is kept.
# global_refit(fit) says whether step 2 changed the fit.
ll_tau2 <- function(yi, vi, X, t, method) {
  w <- 1 / (vi + t)
  XtWX <- crossprod(X, w * X)
  b <- solve(XtWX, crossprod(X, w * yi))
  r <- yi - X %*% b
  k <- length(yi); p <- ncol(X)
  ll <- -0.5 * sum(log(vi + t)) - 0.5 * sum(w * r^2)
  if (method == "REML") {
    ll + -0.5 * (k - p) * log(2 * pi) + 0.5 * determinant(crossprod(X))$modulus[1] -
      0.5 * determinant(XtWX)$modulus[1]
  } else {
    ll - 0.5 * k * log(2 * pi)
  }
}

# metafor re-run on the same data, model, test and weights from the start tau2.init
refit_from <- function(fit, tau2_init) {
  ctrl <- fit$control
  ctrl$tau2.init <- tau2_init
  args <- list(yi = as.numeric(fit$yi), vi = as.numeric(fit$vi), method = fit$method,
               test = fit$test, level = 100 * (1 - fit$level), control = ctrl)
  if (!is.null(fit$weights) && isTRUE(fit$weighted) && !is.null(fit$call$weights))
    args$weights <- fit$weights
  X <- as.matrix(fit$X)
  if (!fit$int.only) {
    if (isTRUE(fit$int.incl)) args$mods <- X[, -1, drop = FALSE]
    else { args$mods <- X; args$intercept <- FALSE }
    args$btt <- fit$btt
  }
  try(suppressWarnings(do.call(rma, args)), silent = TRUE)
}

rma_global <- function(fit) {
  attr(fit, "global_refit") <- FALSE
  if (!(fit$method %in% c("ML", "REML")) || isTRUE(fit$tau2.fix)) return(fit)
  yi <- as.numeric(fit$yi); vi <- as.numeric(fit$vi); X <- as.matrix(fit$X)
  k <- length(yi); p <- ncol(X)
  if (k <= p) return(fit)
  r_ols <- lm.fit(X, yi)$residuals
  s <- max(sum(r_ols^2) / (k - p), min(vi))
  grid <- c(0, s * 10^seq(-9, 2.5, length.out = 600))
  ll <- vapply(grid, function(t) ll_tau2(yi, vi, X, t, fit$method), numeric(1))
  ll_fit <- as.numeric(logLik(fit))
  j <- which.max(ll)
  if (ll[j] <= ll_fit + 1e-9) return(fit)
  best <- fit
  ref <- refit_from(fit, grid[j])
  if (!inherits(ref, "try-error") && as.numeric(logLik(ref)) > as.numeric(logLik(best))) best <- ref
  lo <- grid[max(j - 1, 1)]; hi <- grid[min(j + 1, length(grid))]
  opt <- optimize(function(t) ll_tau2(yi, vi, X, t, fit$method), c(lo, hi), maximum = TRUE,
                  tol = 1e-15)
  if (opt$objective > as.numeric(logLik(best)) + 1e-12) {
    ref <- refit_from(fit, opt$maximum)
    if (!inherits(ref, "try-error") && as.numeric(logLik(ref)) > as.numeric(logLik(best))) best <- ref
  }
  attr(best, "global_refit") <- as.numeric(logLik(best)) > ll_fit + 1e-9
  best
}
global_refit <- function(fit) isTRUE(attr(fit, "global_refit"))
