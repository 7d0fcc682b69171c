# Reference values for plateau.meta.mh (Mantel-Haenszel and Peto) from metafor's rma.mh / rma.peto.
# Run from the repository root:  Rscript validation/metafor/mh.R
# Writes tests/fixtures/metafor/mh.json.
suppressPackageStartupMessages(library(metafor))
source("validation/metafor/json17.R")
options(warn = -1)

cases <- list()
mh_case <- function(name, dat, measure, ..., args = list()) {
  call_args <- c(dat, list(measure = measure), args)
  fit <- do.call(rma.mh, call_args)
  op <- options(na.action = "na.pass"); w <- weights(fit); options(op)
  out <- list(beta = c(fit$beta), se = fit$se, zval = fit$zval, pval = fit$pval,
              ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, QE = fit$QE, QEp = fit$QEp,
              I2 = fit$I2, H2 = fit$H2, CO = fit$CO, COp = fit$COp, MH = fit$MH, MHp = fit$MHp,
              BD = fit$BD, BDp = fit$BDp, TA = fit$TA, TAp = fit$TAp, k = fit$k,
              k_yi = fit$k.yi, k_pos = fit$k.pos, weights = I(unname(w)),
              yi = I(c(fit$yi.f)), vi = I(c(fit$vi.f)))
  cases[[length(cases) + 1]] <<- list(name = name, fn = "rma.mh", measure = measure,
                                      data = lapply(dat, function(v) I(as.numeric(v))),
                                      args = args, result = out)
}
peto_case <- function(name, dat, args = list()) {
  fit <- do.call(rma.peto, c(dat, args))
  op <- options(na.action = "na.pass"); w <- weights(fit); options(op)
  out <- list(beta = c(fit$beta), se = fit$se, zval = fit$zval, pval = fit$pval,
              ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, QE = fit$QE, QEp = fit$QEp,
              I2 = fit$I2, H2 = fit$H2, k = fit$k, k_yi = fit$k.yi, k_pos = fit$k.pos,
              weights = I(unname(w)), yi = I(c(fit$yi.f)), vi = I(c(fit$vi.f)))
  cases[[length(cases) + 1]] <<- list(name = name, fn = "rma.peto", measure = "PETO",
                                      data = lapply(dat, function(v) I(as.numeric(v))),
                                      args = args, result = out)
}

bcg <- with(dat.bcg, list(ai = tpos, bi = tneg, ci = cpos, di = cneg))
y9 <- subset(dat.yusuf1985, table == "9")
yusuf9 <- with(y9, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
y6 <- subset(dat.yusuf1985, table == "6")
yusuf6 <- with(y6, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
coll_o <- with(dat.collins1985a, list(ai = o.xti, n1i = nti, ci = o.xci, n2i = nci))
coll_b <- with(dat.collins1985a, list(ai = b.xti, n1i = nti, ci = b.xci, n2i = nci))
hine <- with(dat.hine1989, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
egger <- with(dat.egger2001, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
lee <- with(dat.lee2004, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
li <- with(dat.li2007, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
niel <- with(dat.nielweise2007, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
hart <- with(dat.hart1999, list(x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i))
niel08 <- with(dat.nielweise2008, list(x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i))
# a person-time set with zero and double-zero studies (built from dat.nielweise2008)
rates0 <- list(x1i = c(0, 8, 3, 0, 1, 0, 17), t1i = c(1344, 1600, 12012, 1536, 370, 729, 6760),
               x2i = c(11, 8, 14, 0, 1, 8, 15), t2i = c(1988, 1461, 10962, 1503, 483, 913, 6840))

for (m in c("OR", "RR", "RD")) {
  mh_case(paste0("bcg_", m), bcg, m)
  mh_case(paste0("yusuf1985_t9_", m), yusuf9, m)
  mh_case(paste0("yusuf1985_t6_", m), yusuf6, m)
  mh_case(paste0("collins1985a_operation_", m), coll_o, m)
  mh_case(paste0("hine1989_", m), hine, m)
  mh_case(paste0("egger2001_", m), egger, m)
  mh_case(paste0("lee2004_", m), lee, m)
  mh_case(paste0("li2007_", m), li, m)
  mh_case(paste0("nielweise2007_", m), niel, m)
}
mh_case("collins1985a_bleeding_OR", coll_b, "OR")
for (m in c("IRR", "IRD")) {
  mh_case(paste0("hart1999_", m), hart, m)
  mh_case(paste0("nielweise2008_", m), niel08, m)
  mh_case(paste0("rates_zeros_", m), rates0, m)
  mh_case(paste0("rates_zeros_", m, "_to_all"), rates0, m, args = list(to = "all"))
  mh_case(paste0("rates_zeros_", m, "_tables_only0"), rates0, m,
          args = list(add = c(0.5, 0.5), to = c("only0", "only0")))
}
mh_case("hart1999_IRR_nocorrect", hart, "IRR", args = list(correct = FALSE))
# options: continuity correction of the CMH test, level, zero-cell handling
mh_case("bcg_OR_nocorrect", bcg, "OR", args = list(correct = FALSE))
mh_case("bcg_OR_level90", bcg, "OR", args = list(level = 90))
mh_case("yusuf1985_t9_OR_to_all", yusuf9, "OR", args = list(to = "all"))
mh_case("yusuf1985_t9_OR_if0all", yusuf9, "OR", args = list(to = "if0all"))
mh_case("yusuf1985_t9_OR_keep00", yusuf9, "OR", args = list(drop00 = FALSE))
mh_case("yusuf1985_t9_OR_add1", yusuf9, "OR", args = list(add = 1))
mh_case("yusuf1985_t9_OR_tables_only0", yusuf9, "OR",
        args = list(add = c(0.5, 0.5), to = c("only0", "only0")))
mh_case("yusuf1985_t9_OR_tables_drop00", yusuf9, "OR", args = list(drop00 = c(TRUE, TRUE)))
mh_case("yusuf1985_t9_RD_tables_drop00", yusuf9, "RD", args = list(drop00 = c(TRUE, TRUE)))
mh_case("yusuf1985_t9_RR_if0all_both", yusuf9, "RR",
        args = list(add = c(0.5, 0.5), to = c("if0all", "if0all")))
mh_case("li2007_RD_tables_all", li, "RD", args = list(add = c(0.5, 0.5), to = c("only0", "all")))
mh_case("li2007_OR_to_none", li, "OR", args = list(to = "none"))

for (nm in c("bcg", "yusuf9", "yusuf6", "coll_o", "hine", "egger", "lee", "li", "niel")) {
  peto_case(paste0(nm, "_PETO"), get(nm))
}
peto_case("yusuf9_PETO_to_all", yusuf9, args = list(to = "all"))
peto_case("yusuf9_PETO_keep00", yusuf9, args = list(drop00 = FALSE))
peto_case("yusuf9_PETO_tables_only0", yusuf9, args = list(add = c(0.5, 0.5), to = c("only0", "only0")))
peto_case("yusuf9_PETO_tables_drop00", yusuf9, args = list(drop00 = c(TRUE, TRUE)))
peto_case("egger_PETO_level99", egger, args = list(level = 99))

write_json17(list(metafor_version = as.character(packageVersion("metafor")),
                  generated_by = "validation/metafor/mh.R", cases = cases),
             "tests/fixtures/metafor/mh.json")
