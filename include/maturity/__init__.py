"""Digital-maturity warehouse."""
