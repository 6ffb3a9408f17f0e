"""Order entry: instruments, the pure matching engine and its iLink 3 execution reports.

``instruments`` (reference data) ← ``matching`` (the engine: commands in, events out) ←
``reports`` (iLink 3 requests → commands, events → SBE messages).
"""
