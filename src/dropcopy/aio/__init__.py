"""asyncio drivers: the pump, the servers and the clients (the only package importing asyncio)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a new event loop (for command-line tools)."""
    return asyncio.run(main)
