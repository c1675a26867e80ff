"""Use cases: one function each; the only code that commits."""
