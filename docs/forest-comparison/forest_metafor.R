# Draw the same data as plateau's forest plot with metafor's forest(), for a side-by-side check.
#
#   Rscript docs/forest-comparison/forest_metafor.R IN.csv OUT.png "TITLE" METHOD
#
# IN.csv is written by docs/forest-comparison/make_comparison.py from a plateau analysis: one row
# per trial with label, yi (log HR), sei, n1, n2 (patients per arm), group (subgroup or empty).
# The model is metafor's rma(yi, sei = sei, method = METHOD); the layout follows metafor's
# forest.rma with the events/N columns added through ilab, subgroups as in metafor's
# "forest plot with subgroups" example (Viechtbauer, https://www.metafor-project.org/doku.php/plots:forest_plot_with_subgroups).
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE)
out <- args[2]
title <- args[3]
method <- if (length(args) >= 4) args[4] else "REML"
res <- rma(yi, sei = sei, data = dat, method = method, slab = label)
arm1 <- ifelse(is.na(dat$n1), "-", as.character(dat$n1))  # not "n1": forest() evaluates ilab in the data first
arm2 <- ifelse(is.na(dat$n2), "-", as.character(dat$n2))
k <- nrow(dat)
groups <- unique(dat$group[dat$group != ""])
png(out, width = 1800, height = 140 + 34 * (k + 4 * max(1, length(groups)) + 6), res = 140)
par(mar = c(4, 0, 2, 0), cex = 0.9)
if (length(groups) > 1) {
  # rows with gaps for subgroup headers and subtotals
  rows <- c()
  headers <- c()
  top <- k + 3 * length(groups) + 1
  ypos <- top
  order <- c()
  for (g in groups) {
    idx <- which(dat$group == g)
    headers <- c(headers, ypos)
    ypos <- ypos - 1
    rows <- c(rows, seq(ypos, ypos - length(idx) + 1))
    order <- c(order, idx)
    ypos <- ypos - length(idx) - 2
  }
  res <- rma(yi, sei = sei, data = dat[order, ], method = method, slab = label)
  forest(res, atransf = exp, at = log(c(0.1, 0.2, 0.5, 1, 2)), rows = rows, ylim = c(-1.5, top + 3),
         xlim = c(-10, 3.5), ilab = cbind(arm1[order], arm2[order]), ilab.xpos = c(-4.1, -3.2),
         header = c("Study", "HR [95% CI]"),
         mlab = sprintf("RE Model (Q = %.2f, df = %d, p = %.2f; I^2 = %.0f%%)", res$QE, res$k - 1, res$QEp, res$I2),
         xlab = "Hazard ratio (log scale)", addpred = TRUE)
  text(c(-4.1, -3.2), top + 2, c("Maint. N", "Control N"), font = 2)
  text(-10, headers, groups, pos = 4, font = 4)
} else {
  forest(res, atransf = exp, at = log(c(0.25, 0.5, 1, 2)), xlim = c(-7, 3), ilab = cbind(arm1, arm2),
         ilab.xpos = c(-3.2, -2.5),
         header = c("Study", "HR [95% CI]"), addpred = TRUE,
         mlab = sprintf("RE Model (Q = %.2f, df = %d, p = %.2f; I^2 = %.0f%%)", res$QE, res$k - 1, res$QEp, res$I2),
         xlab = "Hazard ratio (log scale)")
  text(c(-3.2, -2.5), res$k + 2, c("Maint. N", "Control N"), font = 2)
}
title(title, cex.main = 1)
invisible(dev.off())
cat(sprintf("metafor %s: HR %.4f [%.4f, %.4f], tau2 %.4f, I2 %.1f%%, z %.3f, p %.3g\n",
            as.character(packageVersion("metafor")), exp(res$b), exp(res$ci.lb), exp(res$ci.ub),
            res$tau2, res$I2, res$zval, res$pval))
