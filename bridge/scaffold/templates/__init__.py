"""The files of a scaffolded plugin, as string constants with ``{{placeholder}}`` tokens.

``common`` holds what every kind shares (pyproject, package ``__init__``); ``pos`` and
``shop`` hold a working connector, its settings, tests, mapping fragment and README.
Placeholders: ``name``, ``Class``, ``NAME``, ``package``, ``dist``, ``kind``,
``brique_version`` (see ``bridge.scaffold.generator.Names.tokens``).
"""
