"""One loyalty balance per golden customer, across tills and web shops.

``rules`` computes what a sale earns and spends from the mapping's ``loyalty:`` section,
``sales`` records it in the sale's transaction, ``ledger`` sums it (following merges and
their undo exactly), ``push`` publishes balances to the connections that show them, and
``views`` renders them for the CLI and the HTTP API.
"""
