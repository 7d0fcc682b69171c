"""plateau.analysis."""
