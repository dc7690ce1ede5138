"""The audit trail: a hash-chained, append-only store of every evaluation, and its export."""
