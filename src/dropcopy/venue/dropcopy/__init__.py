"""The Drop Copy 4.0 wing of the venue: routing iLink 3 activity to target sessions (the book)
and the CGW / MSGW gateways serving them (seed 003). See docs/dropcopy-gateway.md."""

from .book import DropCopyBook, TargetStream, instrument_lookup
from .filters import Category, accepts, category
from .gateway import (
    BACKUP_NOT_ALLOWED,
    DropCopyGateway,
    MemoryDropCopyKeys,
    SimpleKey,
    pair,
)
from .targets import MemoryTargetDirectory, StoreTargetDirectory, Target, TargetDirectory

__all__ = [
    "BACKUP_NOT_ALLOWED",
    "Category",
    "DropCopyBook",
    "DropCopyGateway",
    "MemoryDropCopyKeys",
    "MemoryTargetDirectory",
    "SimpleKey",
    "StoreTargetDirectory",
    "Target",
    "TargetDirectory",
    "TargetStream",
    "accepts",
    "category",
    "instrument_lookup",
    "pair",
]
