"""plateau.report."""
