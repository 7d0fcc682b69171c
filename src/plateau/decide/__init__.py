"""plateau.decide."""
