"""The money house: the programme engine (engine/: budgets, lines, runs and approvals, exactly-once batches, the
ledger) and one sub-package per programme (property/: the property subsidy)."""
