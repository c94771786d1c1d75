"""Integration fixtures: a directory in the shared ledger, for the tests that need one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import asyncpg
import pytest

from activities import directory as store
from starter.directoryfile import add_leave, read_directory
from tests.unit.test_directory import EXAMPLE


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> AsyncIterator[None]:
    d = read_directory(EXAMPLE)
    d.absences.clear()
    today = date.today()
    add_leave(
        d,
        "leave",
        {
            "person": "zhao.liu",
            "from": today - timedelta(days=1),
            "to": today + timedelta(days=30),
            "stand_in": "qian.qi",
        },
    )
    await store.replace(pool, d)
    yield
    await store.replace(pool, store.Directory())  # other tests run without a directory
