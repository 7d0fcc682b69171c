"""plateau.web."""
