"""Web orders hold store stock: which store fulfils them, their versions in the journal,
reservations in the ledger and at the store's till."""
