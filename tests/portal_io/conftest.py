"""Fixtures of the portal I/O tests: ``smtp_sink`` (see :mod:`tests.portal_io.smtp_sink`)."""

from __future__ import annotations

from tests.portal_io.smtp_sink import smtp_sink as smtp_sink
