"""Draws and their proofs: the frozen ledger, the arithmetic, the winners, the published proof
and its check."""
