"""Every effect on the world: the ledger, notifications and the working-day calendar."""
