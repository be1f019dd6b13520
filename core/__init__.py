"""pazar: keeps a seller's back office in sync with online marketplaces.

A marketplace plugin imports :mod:`pazar.plugin` (and :mod:`pazar.testing` in its tests)
and nothing else of the engine; everything deeper may change between releases.
"""

__version__ = "0.1.0"
