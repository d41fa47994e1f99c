"""Buy online, return in store: a web order taken back at a till.

A store return whose lines (or ticket) carry a web order number is matched to the order in
the sales journal through a normalised look-up of the numbers customers show (``#1001``,
``000000123``, ``XKBKNABJK``). Matching keeps what each order line has had returned, so no
series of visits returns more than was bought; the store's own return line already put the
goods back into that store's stock (``bridge.sync.apply``), so nothing here moves stock.
A matched return queues one ``returns`` write to the shop that sold the order (marked
returned there, no money moved: it was given back at the till), and compares what the
customer paid online with what the store refunded: a lower store price leaves a difference
to refund, flagged and announced as ``return.price_difference``.

An unknown order or an over-return is kept as an unmatched return, listed by ``brique
returns list --unmatched``; a return waiting for its order is matched when the order is
journaled, whichever arrives first.
"""
