"""The property subsidy (旧楼区准物业管理补贴): rate cards, quarterly runs priced per estate, month and contract from
the locked scores, street confirmations, finance's approval, exactly-once batches, adjustments and the ledger. Its
money rules (rounding, the payers' split) are the engine's."""
