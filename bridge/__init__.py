"""Brique core: canonical model, connector contract, mapping, state store and sync use-cases.

This package never imports Celery nor a web framework: workers and the web receiver call
into it, so every use-case can be tested without a broker.
"""

__version__ = "0.1.0"
