"""Municipal parameters and the contribution rules of the Wmo abonnementstarief (pure functions, no I/O)."""
