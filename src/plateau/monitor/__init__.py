"""plateau.monitor."""
