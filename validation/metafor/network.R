# Network meta-analysis oracle for plateau.meta.network.
#
# Contrast-based NMA with metafor 3.8.1 `rma.mv` on standard network datasets from metadat:
#   yi = basic contrasts (each arm vs the study's first arm), V = their exact covariance
#   (the shared baseline arm's variance off the diagonal), mods = ~ contrast columns - 1,
#   random = ~ comp | study, rho = 1/2 (every contrast has variance tau2; two contrasts of a
#   multi-arm study have covariance tau2/2: the homogeneous-variance model of netmeta).
#
# For each dataset the fixture holds the pairwise input (all pairs of every multi-arm study,
# TE = y[treat1] - y[treat2], seTE = sqrt(v1 + v2)) that plateau reads, and metafor's results:
#   common   : fixed-effects rma.mv (no random term): coefficients vs reference, vcov, QE
#   reml, ml : random-effects rma.mv, tau2, logLik, coefficients, vcov
#   design   : design-by-treatment decomposition. Q within designs = QE of the model with one
#              free parameter set per design; Q between designs = QE(consistency) - QE(design);
#              random version: REML tau2 of the design-by-treatment interaction model and the
#              Wald test (QM) of its inconsistency coefficients (Higgins 2012).
#   split    : only for networks of two-arm studies: the indirect estimate of each direct
#              comparison = common-effect rma.mv without that comparison's studies (equals the
#              back-calculated indirect estimate of Bucher/netsplit in that case).
#   pairwise : for a two-treatment sub-network, rma() REML and DL (tests: NMA == pool).
#
# Run from the repository root:  Rscript validation/metafor/network.R
# Output: tests/fixtures/metafor/network_<dataset>.json

suppressPackageStartupMessages({library(metafor); library(jsonlite)})
stopifnot(packageVersion("metafor") == "3.8.1")
CTRL <- list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000)

## --- a JSON writer that keeps all 17 significant digits ---------------------------------
sc <- function(x) structure(x, class = "sc")   # mark a scalar (written without brackets)
num <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))
atom <- function(x) {
  if (is.character(x) || is.factor(x)) return(vapply(as.character(x), function(v) toJSON(v, auto_unbox = TRUE), ""))
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  num(as.numeric(x))
}
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (inherits(x, "sc")) return(atom(unclass(x)))
  if (is.matrix(x)) return(to_json(lapply(seq_len(nrow(x)), function(i) unname(x[i, ]))))
  if (is.list(x)) {
    if (!is.null(names(x))) {
      parts <- mapply(function(k, v) paste0(toJSON(k, auto_unbox = TRUE), ":", to_json(v)),
                      names(x), x, USE.NAMES = FALSE)
      return(paste0("{", paste(parts, collapse = ","), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ","), "]"))
  }
  paste0("[", paste(atom(x), collapse = ","), "]")
}
write_json17 <- function(obj, path) writeLines(to_json(obj), path)

## --- building blocks ----------------------------------------------------------------------
# arms: data.frame(study, treat, y, v) in the study's arm order; returns all pairs i < j
all_pairs <- function(arms) {
  out <- list()
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    k <- nrow(a)
    for (i in 1:(k - 1)) for (j in (i + 1):k)
      out[[length(out) + 1]] <- data.frame(study = s, treat1 = a$treat[i], treat2 = a$treat[j],
                                           TE = a$y[i] - a$y[j], seTE = sqrt(a$v[i] + a$v[j]))
  }
  do.call(rbind, out)
}

# basic contrasts vs the study's first arm, their covariance and the contrast columns
contrasts_of <- function(arms, treatments, reference) {
  rows <- list(); blocks <- list()
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    k <- nrow(a)
    b <- matrix(a$v[1], k - 1, k - 1); diag(b) <- a$v[1] + a$v[-1]
    blocks[[length(blocks) + 1]] <- b
    design <- paste(sort(a$treat), collapse = ":")
    for (j in 2:k)
      rows[[length(rows) + 1]] <- data.frame(study = s, t1 = a$treat[j], t0 = a$treat[1],
                                             yi = a$y[j] - a$y[1], design = design,
                                             comp = paste(a$treat[j], a$treat[1], sep = "-"))
  }
  dat <- do.call(rbind, rows)
  others <- setdiff(treatments, reference)
  X <- sapply(others, function(t) (dat$t1 == t) - (dat$t0 == t))
  X <- matrix(X, nrow = nrow(dat)); colnames(X) <- make.names(others)
  list(dat = dat, V = bldiag(blocks), X = X, others = others)
}

# one parameter set per design: design-specific contrast columns (for Q within designs)
design_columns <- function(cd) {
  dat <- cd$dat; cols <- list()
  for (d in unique(dat$design)) {
    in_d <- dat$design == d
    for (cmp in unique(dat$comp[in_d])) {
      cols[[paste0("inc_", make.names(d), "_", make.names(cmp))]] <- as.numeric(in_d & dat$comp == cmp)
    }
  }
  do.call(cbind, cols)
}
# Arms are sorted by treatment name inside each study (run_network), so every study of a design
# uses the same baseline and the same comparison labels: one parameter set per design is exact.

fit_pack <- function(res) {
  list(coef = as.numeric(coef(res)), vcov = unname(vcov(res)), loglik = sc(as.numeric(logLik(res))),
       tau2 = sc(if (is.null(res$tau2)) 0 else res$tau2), q_total = sc(res$QE), df = sc(res$k - res$p))
}

run_network <- function(name, arms, reference, measure, two_arm_split = FALSE, pairwise_pair = NULL) {
  # order arms inside each study: the design's alphabetically first treatment first
  arms <- arms[order(arms$study, arms$treat), ]
  treatments <- sort(unique(arms$treat))
  cd <- contrasts_of(arms, treatments, reference)
  dat <- cbind(cd$dat, cd$X)
  f <- as.formula(paste("~", paste(colnames(cd$X), collapse = " + "), "- 1"))
  common <- rma.mv(yi, cd$V, mods = f, data = dat, control = CTRL)
  reml <- rma.mv(yi, cd$V, mods = f, random = ~ comp | study, rho = 1/2, data = dat,
                 method = "REML", control = CTRL)
  ml <- rma.mv(yi, cd$V, mods = f, random = ~ comp | study, rho = 1/2, data = dat,
               method = "ML", control = CTRL)
  # estimates at REML's tau2 held fixed (exact comparison of the GLS step)
  fixed <- rma.mv(yi, cd$V, mods = f, random = ~ comp | study, rho = 1/2, data = dat,
                  tau2 = reml$tau2, control = CTRL)

  # design-by-treatment interaction model: consistency columns + design columns
  D <- design_columns(cd)
  dat2 <- cbind(dat, D)
  f2 <- as.formula(paste("~", paste(c(colnames(cd$X), colnames(D)), collapse = " + "), "- 1"))
  full_fe <- suppressMessages(suppressWarnings(rma.mv(yi, cd$V, mods = f2, data = dat2, control = CTRL)))
  full_re <- suppressMessages(suppressWarnings(
    rma.mv(yi, cd$V, mods = f2, random = ~ comp | study, rho = 1/2, data = dat2, method = "REML",
           control = CTRL)))
  inc <- grep("^inc_", rownames(full_re$beta))
  wald_re <- if (length(inc)) anova(full_re, btt = inc) else NULL
  design <- list(
    q_within = sc(full_fe$QE), df_within = sc(full_fe$k - full_fe$p),
    q_between = sc(common$QE - full_fe$QE), df_between = sc(full_fe$p - common$p),
    reml_tau2_within = sc(full_re$tau2),
    reml_q_inconsistency = sc(if (is.null(wald_re)) 0 else wald_re$QM),
    reml_df_inconsistency = sc(if (is.null(wald_re)) 0 else wald_re$QMdf[1]),
    n_designs = sc(length(unique(cd$dat$design))))

  out <- list(dataset = sc(name), measure = sc(measure), reference = sc(reference),
              treatments = treatments, others = cd$others,
              pairs = as.list(all_pairs(arms)),
              common = fit_pack(common), reml = fit_pack(reml), ml = fit_pack(ml),
              reml_fixed_tau2 = fit_pack(fixed), design = design,
              metafor = sc(as.character(packageVersion("metafor"))))

  if (two_arm_split) {
    # indirect estimate of every directly compared pair: the common-effect NMA without its studies
    comps <- unique(cd$dat[, c("t1", "t0")])
    split <- list()
    for (i in seq_len(nrow(comps))) {
      a <- comps$t1[i]; b <- comps$t0[i]
      keep <- !(cd$dat$t1 == a & cd$dat$t0 == b)
      sub <- arms[arms$study %in% cd$dat$study[keep], ]
      tr <- sort(unique(sub$treat))
      if (!(a %in% tr && b %in% tr)) next
      cs <- contrasts_of(sub[order(sub$study, sub$treat), ], tr, b)
      ds <- cbind(cs$dat, cs$X)
      fs <- as.formula(paste("~", paste(colnames(cs$X), collapse = " + "), "- 1"))
      r <- tryCatch(rma.mv(yi, cs$V, mods = fs, data = ds, control = CTRL), error = function(e) NULL)
      if (is.null(r)) next
      j <- which(cs$others == a)
      if (!is.finite(vcov(r)[j, j]) || vcov(r)[j, j] > 1e6) next   # a not connected to b
      dir <- rma(cd$dat$yi[!keep], diag(cd$V)[!keep], method = "EE")
      split[[length(split) + 1]] <- list(treat1 = sc(a), treat2 = sc(b),
        direct = sc(as.numeric(dir$beta)), direct_se = sc(dir$se),
        indirect = sc(as.numeric(coef(r)[j])), indirect_se = sc(sqrt(vcov(r)[j, j])))
    }
    out$split_common <- split
  }

  if (!is.null(pairwise_pair)) {
    p <- all_pairs(arms)
    sel <- (p$treat1 == pairwise_pair[1] & p$treat2 == pairwise_pair[2])
    p2 <- p[sel, ]
    two <- arms[arms$study %in% p2$study & arms$treat %in% pairwise_pair, ]
    # keep only two-arm studies of that pair (the sub-network is then exactly pairwise)
    n_arms <- table(arms$study)
    p2 <- p2[n_arms[p2$study] == 2, ]
    r_reml <- rma(p2$TE, sei = p2$seTE, method = "REML", control = list(threshold = 1e-14, maxiter = 10000))
    r_dl <- rma(p2$TE, sei = p2$seTE, method = "DL")
    r_fe <- rma(p2$TE, sei = p2$seTE, method = "EE")
    out$pairwise <- list(treat1 = sc(pairwise_pair[1]), treat2 = sc(pairwise_pair[2]),
      pairs = as.list(p2),
      reml = list(estimate = sc(as.numeric(r_reml$beta)), se = sc(r_reml$se), tau2 = sc(r_reml$tau2)),
      dl = list(estimate = sc(as.numeric(r_dl$beta)), se = sc(r_dl$se), tau2 = sc(r_dl$tau2),
                q = sc(r_dl$QE)),
      common = list(estimate = sc(as.numeric(r_fe$beta)), se = sc(r_fe$se), q = sc(r_fe$QE)))
  }
  path <- file.path("tests", "fixtures", "metafor", paste0("network_", name, ".json"))
  write_json17(out, path)
  cat("wrote", path, " tau2(REML) =", reml$tau2, " Q =", common$QE, "\n")
  invisible(out)
}

## --- datasets -----------------------------------------------------------------------------
# log odds of an arm (0.5 added to every arm of a study with a zero or a full cell)
log_odds_arms <- function(study, treat, x, n) {
  d <- data.frame(study = as.character(study), treat = as.character(treat), x = x, n = n)
  zero <- ave(as.numeric(d$x == 0 | d$x == d$n), d$study, FUN = max) > 0
  add <- ifelse(zero, 0.5, 0)
  data.frame(study = d$study, treat = d$treat,
             y = log((d$x + add) / (d$n - d$x + add)), v = 1 / (d$x + add) + 1 / (d$n - d$x + add))
}

# 1. Senn 2013: glucose-lowering agents, HbA1c mean change (MD), one three-arm study
s <- dat.senn2013
senn <- data.frame(study = s$study, treat = s$treatment, y = s$mi, v = s$sdi^2 / s$ni)
run_network("senn2013", senn, "placebo", "MD", pairwise_pair = c("placebo", "rosiglitazone"))

# 2. Hasselblad 1998: smoking cessation, log odds ratio, two three-arm studies
h <- dat.hasselblad1998
hass <- log_odds_arms(h$study, h$trt, h$xi, h$ni)
run_network("hasselblad1998", hass, "no_contact", "OR")

# 3. Dong 2013: COPD inhaled drugs, death, log odds ratio, three- and four-arm studies, zeros
d <- dat.dong2013
dong <- log_odds_arms(d$id, d$treatment, d$death, d$randomized)
run_network("dong2013", dong, "Placebo", "OR")

# 4. Franchini 2012: Parkinson's disease, mean difference, one three-arm study
f <- dat.franchini2012
fr <- do.call(rbind, lapply(1:3, function(k) {
  data.frame(study = f$Study, treat = f[[paste0("Treatment", k)]], y = f[[paste0("y", k)]],
             v = f[[paste0("sd", k)]]^2 / f[[paste0("n", k)]])
}))
fr <- fr[!is.na(fr$treat), ]
run_network("franchini2012", fr, "Placebo", "MD")

# 5. Hasselblad 1998 restricted to its two-arm studies: node-split indirect estimates
two <- names(which(table(h$study) == 2))
hass2 <- hass[hass$study %in% two, ]
run_network("hasselblad1998_twoarm", hass2, "no_contact", "OR", two_arm_split = TRUE)

# worked example for `plateau nma` (examples/nma/pairs.csv): the Hasselblad network with
# author-year study labels, log odds ratios of quitting smoking
lab <- paste(sub(" et al\\.", "", h$authors), h$year)
ex <- log_odds_arms(lab, h$trt, h$xi, h$ni)
ex <- ex[order(ex$study, ex$treat), ]
ep <- all_pairs(ex)
write.csv(data.frame(study = ep$study, treat1 = ep$treat1, treat2 = ep$treat2,
                     TE = sprintf("%.10f", ep$TE), seTE = sprintf("%.10f", ep$seTE)),
          file.path("examples", "nma", "pairs.csv"), row.names = FALSE, quote = FALSE)
