"""Money: rate cards, subsidy runs, approvals, disbursement batches (lands with its issue)."""
