# metafor side of benchmarks/bench_pool.py: one rma() call per meta-analysis, as users run it.
#   Rscript benchmarks/bench_pool.R <sim.csv> <out_prefix>
# Reads the long CSV (columns ma, yi, vi), times the default-control REML and DL loops, counts
# REML fits that error out ("did not converge"), re-fits REML with tight control
# (threshold 1e-12, maxiter 10000; relaxed step by step only if needed) as the reference, and
# writes <out_prefix>_estimates.csv and <out_prefix>_timing.json.
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
split_y <- split(d$yi, d$ma)
split_v <- split(d$vi, d$ma)
ids <- names(split_y)
n <- length(ids)
fit_loop <- function(method, control = list()) {
  est <- tau2 <- rep(NA_real_, n); fail <- 0L
  t <- system.time(for (i in seq_len(n)) {
    r <- try(rma(split_y[[i]], split_v[[i]], method = method, control = control), silent = TRUE)
    if (inherits(r, "try-error")) { fail <- fail + 1L } else { est[i] <- r$beta[1]; tau2[i] <- r$tau2 }
  })[["elapsed"]]
  list(est = est, tau2 = tau2, fail = fail, seconds = t)
}
reml <- suppressWarnings(fit_loop("REML"))
dl <- suppressWarnings(fit_loop("DL"))
tight_est <- tight_tau2 <- rep(NA_real_, n); tight_fail <- 0L
for (i in seq_len(n)) {
  r <- NULL
  for (th in c(1e-12, 1e-11, 1e-10)) {
    r <- try(suppressWarnings(rma(split_y[[i]], split_v[[i]], method = "REML",
                                  control = list(threshold = th, maxiter = 10000, tol = 1e-12))), silent = TRUE)
    if (!inherits(r, "try-error")) break
  }
  if (inherits(r, "try-error")) tight_fail <- tight_fail + 1L else { tight_est[i] <- r$beta[1]; tight_tau2[i] <- r$tau2 }
}
write.csv(data.frame(ma = ids, reml_est = reml$est, reml_tau2 = reml$tau2, dl_est = dl$est, dl_tau2 = dl$tau2,
                     tight_est = tight_est, tight_tau2 = tight_tau2),
          paste0(args[2], "_estimates.csv"), row.names = FALSE)
writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), r = R.version.string, n = n,
                       reml_seconds = reml$seconds, reml_failures = reml$fail,
                       dl_seconds = dl$seconds, dl_failures = dl$fail, tight_reml_failures = tight_fail),
                  auto_unbox = TRUE, digits = NA), paste0(args[2], "_timing.json"))
