"""The relay that tells the killed-server test when a request is in flight (tests/faults/relay.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from .relay import Relay
from .server import FaultServer


def wait_for(check: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def upstream() -> FaultServer:
    return FaultServer("ok")


def test_answers_pass_through_and_nothing_stays_in_flight(upstream: FaultServer) -> None:
    relay = Relay(upstream.http.server_port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}/v1", timeout=10) as client:
            for i in range(3):  # one kept-alive connection, one request after another
                answer = client.post("/completions", json={"prompt": f"question {i}", "max_tokens": 4})
                assert answer.status_code == 200
                assert answer.json()["choices"][0]["text"]
                assert relay.in_flight() == 0
            assert client.get("/models").json()["data"][0]["id"] == upstream.model
        assert [r.case for r in upstream.posts] == [0, 1, 2]
    finally:
        relay.stop()
        upstream.stop()


def test_a_request_is_in_flight_until_its_server_dies_and_then_the_client_is_dropped(
    upstream: FaultServer,
) -> None:
    upstream.mode = "hang"  # accepts the request and never answers, until the server stops
    relay = Relay(upstream.http.server_port)
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            url = f"http://127.0.0.1:{relay.port}/v1/completions"
            httpx.post(url, json={"prompt": "question 1"}, timeout=30)
        except httpx.TransportError as error:
            errors.append(error)

    asking = threading.Thread(target=ask)
    try:
        assert relay.in_flight() == 0
        asking.start()
        assert wait_for(lambda: relay.in_flight() == 1), "the request was never seen in flight"
        assert wait_for(lambda: len(upstream.posts) == 1)
        assert relay.in_flight() == 1  # the server has it and has not answered
        started = time.monotonic()
        upstream.stop()  # the server goes away without an answer
        asking.join(timeout=15)
        assert not asking.is_alive()
        assert time.monotonic() - started < 10  # dropped at once, not after the client's 30 s timeout
        assert [type(e) for e in errors] == [httpx.RemoteProtocolError]
        assert relay.in_flight() == 0
        # A new connection to the dead server is dropped at once, as a refusal would end it.
        with pytest.raises(httpx.TransportError):
            httpx.post(f"http://127.0.0.1:{relay.port}/v1/completions", json={"prompt": "x"}, timeout=5)
        assert relay.in_flight() == 0
    finally:
        relay.stop()
        upstream.stop()
