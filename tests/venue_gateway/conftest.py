"""Fixtures shared by the gateway tests: one gateway (``venue``) and a primary/backup pair."""

from .test_fault_tolerance import pair  # noqa: F401
from .test_loopback import venue  # noqa: F401
