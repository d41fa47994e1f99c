"""The price parity watchdog: one SKU, the same price wherever the policy says it must be.

Every SKU's effective price per shop channel (what the mapping computes, and what the shop
was last sent) and per store (its price list, and what its tills really ring up) is
compared on one basis (tax included, one currency); divergences beyond the policy in
``prices.parity`` are recorded, alerted once when they open and once when they end.

- ``policy``: the YAML policy compiled against a plan (groups resolved into members)
- ``evaluate``: the judge of one SKU (pure)        ``snapshot``: batched loading per page
- ``tills``: till prices read from the journal     ``state``: divergence rows and events
- ``scan``: the ``brique.check_parity`` follow-up  ``triggers``: after a price change, on schedule
- ``report``: the CLI and HTTP report
"""
