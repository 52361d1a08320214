"""Sessions under a real server: uvicorn with two worker processes and many concurrent clients.

The load runs once per module; each test states one thing every client must have seen.

Nothing here asserts which worker served whom: the kernel may hand every connection to one
worker's accept, so "both workers served" is not something this load can guarantee. That a
cookie minted by one process is read by another sharing only the secret is tested
deterministically in test_scale_out.py, by a client alternating between two servers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx2
import pytest

from conftest import SECRET

from .conftest import StartServer

CLIENTS = 50
INCREMENTS = 20
LOAD_TIMEOUT = 120.0
"""Seconds the whole load may take before the test fails (it takes a few)."""

pytestmark = pytest.mark.timeout(240)


@dataclass
class ClientLog:
    """What one client sent and saw."""

    marker: str
    statuses: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)


async def _run_client(base_url: str, marker: str) -> ClientLog:
    log = ClientLog(marker)
    async with httpx2.AsyncClient(base_url=base_url, timeout=30.0) as client:  # own cookie jar
        for _ in range(INCREMENTS):
            response = await client.get("/counter", params={"marker": marker})
            log.statuses.append(response.status_code)
            if response.status_code == 200:
                body = response.json()
                log.counts.append(body["count"])
                log.markers.append(body["marker"])
                log.pids.add(body["pid"])
    return log


async def _run_clients(base_url: str) -> list[ClientLog]:
    clients = (_run_client(base_url, f"client-{number}") for number in range(CLIENTS))
    return await asyncio.wait_for(asyncio.gather(*clients), LOAD_TIMEOUT)


@pytest.fixture(scope="module")
def logs(start_server: StartServer) -> list[ClientLog]:
    server = start_server(workers=2, secret_key=SECRET)
    return asyncio.run(_run_clients(server.url))


def test_every_client_counts_from_one_to_twenty(logs: list[ClientLog]) -> None:
    expected = list(range(1, INCREMENTS + 1))
    assert [log.counts for log in logs] == [expected] * CLIENTS


def test_no_response_is_an_error(logs: list[ClientLog]) -> None:
    assert [log.statuses for log in logs] == [[200] * INCREMENTS] * CLIENTS


def test_no_client_sees_another_clients_marker(logs: list[ClientLog]) -> None:
    foreign = {log.marker: sorted(set(log.markers) - {log.marker}) for log in logs}
    assert foreign == {log.marker: [] for log in logs}


def test_no_response_came_from_a_third_process(logs: list[ClientLog]) -> None:
    # At most the two workers answered, however the kernel spread the connections (possibly all
    # to one): a third process id would mean a worker died under the load and was replaced.
    assert 1 <= len(set().union(*(log.pids for log in logs))) <= 2
