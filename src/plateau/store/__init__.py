"""plateau.store."""
