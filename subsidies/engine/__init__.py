"""The programme engine: budgets, lines, runs and approvals, exactly-once batches and the ledger, for every programme
the district pays through (the property subsidy, home-care vouchers, activity funds, relief funds ...)."""
