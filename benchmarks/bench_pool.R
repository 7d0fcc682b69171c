# metafor side of benchmarks/bench_pool.py: one rma() call per meta-analysis, as users run it.
#   Rscript benchmarks/bench_pool.R <sim.csv> <out_prefix>
# Reads the long CSV (columns ma, yi, vi); times the default-control REML and DL loops (elapsed
# and CPU seconds; counting fits that error out); re-fits every estimator with tight control (threshold 1e-12, tol 1e-12,
# maxiter 10000; the threshold relaxed step by step only where Fisher scoring cannot meet it)
# as the reference; writes <out_prefix>_estimates.csv (<METHOD>_est, <METHOD>_tau2 per analysis,
# NA where metafor fails) and <out_prefix>_timing.json.
suppressMessages({library(metafor); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
split_y <- split(d$yi, d$ma)
split_v <- split(d$vi, d$ma)
n <- length(split_y)
fit_loop <- function(method, control = list()) {
  est <- tau2 <- rep(NA_real_, n); fail <- 0L
  t <- system.time(for (i in seq_len(n)) {
    r <- try(rma(split_y[[i]], split_v[[i]], method = method, control = control), silent = TRUE)
    if (inherits(r, "try-error")) { fail <- fail + 1L } else { est[i] <- r$beta[1]; tau2[i] <- r$tau2 }
  })
  list(est = est, tau2 = tau2, fail = fail, seconds = t[["elapsed"]],
       cpu = t[["user.self"]] + t[["sys.self"]])
}
reml <- suppressWarnings(fit_loop("REML"))
dl <- suppressWarnings(fit_loop("DL"))
tight_fit <- function(method) {
  est <- tau2 <- rep(NA_real_, n); fail <- 0L
  for (i in seq_len(n)) {
    r <- NULL
    for (th in c(1e-12, 1e-11, 1e-10)) {
      r <- try(suppressWarnings(rma(split_y[[i]], split_v[[i]], method = method,
                                    control = list(threshold = th, maxiter = 10000, tol = 1e-12))),
               silent = TRUE)
      if (!inherits(r, "try-error")) break
    }
    if (inherits(r, "try-error")) fail <- fail + 1L else { est[i] <- r$beta[1]; tau2[i] <- r$tau2 }
  }
  list(est = est, tau2 = tau2, fail = fail)
}
methods <- c("DL", "HE", "REML", "ML", "PM", "EB", "SJ", "EE")
out <- data.frame(ma = names(split_y))
fails <- list()
for (m in methods) {
  f <- tight_fit(m)
  out[[paste0(m, "_est")]] <- f$est
  out[[paste0(m, "_tau2")]] <- f$tau2
  fails[[m]] <- f$fail
}
write.csv(out, paste0(args[2], "_estimates.csv"), row.names = FALSE)
writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")), r = R.version.string, n = n,
                       reml_seconds = reml$seconds, reml_cpu_seconds = reml$cpu,
                       reml_failures = reml$fail, dl_seconds = dl$seconds, dl_cpu_seconds = dl$cpu,
                       dl_failures = dl$fail, tight_failures = fails),
                  auto_unbox = TRUE, digits = NA), paste0(args[2], "_timing.json"))
