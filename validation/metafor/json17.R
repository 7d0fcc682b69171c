# Minimal JSON writer that keeps every digit (numbers as sprintf("%.17g")).
# jsonlite's toJSON rounds to 15 significant digits, which is not enough for 1e-9 comparisons.
# Conventions: NA/NaN -> null, +-Inf -> Infinity/-Infinity (Python's json module reads these),
# a length-1 vector is a scalar unless wrapped in I(), a named list is an object.
# Used by mh.R, sensitivity.R and bias.R.

json17 <- function(x) {
  if (is.null(x)) return("null")
  if (is.factor(x)) x <- as.character(x)
  if (is.data.frame(x)) x <- as.list(x)
  if (is.list(x)) {
    nms <- names(x)
    if (!is.null(nms) && all(nms != "")) {
      items <- vapply(seq_along(x), function(i)
        paste0(json_str(nms[i]), ":", json17(x[[i]])), character(1))
      return(paste0("{", paste(items, collapse = ","), "}"))
    }
    items <- vapply(x, json17, character(1))
    return(paste0("[", paste(items, collapse = ","), "]"))
  }
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) I(x[i, ]))
    return(json17(rows))
  }
  as_array <- inherits(x, "AsIs") || length(x) != 1L
  x <- unclass(x)
  if (is.logical(x)) {
    vals <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else if (is.numeric(x)) {
    vals <- ifelse(is.na(x), "null",
             ifelse(is.infinite(x), ifelse(x > 0, "Infinity", "-Infinity"),
                    sprintf("%.17g", x)))
  } else {
    vals <- ifelse(is.na(x), "null", vapply(as.character(x), json_str, character(1)))
  }
  if (as_array) paste0("[", paste(vals, collapse = ","), "]") else vals
}

json_str <- function(s) {
  s <- gsub("\\\\", "\\\\\\\\", s)
  s <- gsub("\"", "\\\\\"", s)
  paste0("\"", s, "\"")
}

write_json17 <- function(x, path) {
  writeLines(json17(x), path, useBytes = TRUE)
  message("wrote ", path)
}
