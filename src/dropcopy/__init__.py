"""dropcopy: CME Globex iLink 3, Drop Copy 4.0 and Request Center, venue and client side."""

__version__ = "0.1.0"
