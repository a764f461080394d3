"""The plain-Python half of `hface` on Hornbeam: the names, events and configuration
of hface 0.1, and clear errors where the engine would do the work.

The engine-backed half (connections the engine accepted) is exercised by
test/hornbeam_hface_SUITE.erl with real clients.
"""

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "priv" / "python"))

import hface
from hface import ClientTLSConfig, HTTPErrorCodes, ServerTLSConfig
from hface.connections import (
    HTTPMultiListener,
    HTTPOverQUICListener,
    HTTPOverQUICOpener,
    HTTPOverTCPListener,
    HTTPOverTCPOpener,
)
from hface.events import (
    ConnectionTerminated,
    DataReceived,
    GoawayReceived,
    HeadersReceived,
    StreamReset,
    StreamResetReceived,
    StreamResetSent,
)
from hface.networking import SystemNetworking
from hface.protocols import (
    ALPNHTTPFactory,
    HTTP1ClientFactory,
    HTTP1Protocol,
    HTTP1ServerFactory,
    HTTP2Protocol,
    HTTP2ServerFactory,
    HTTP3Protocol,
    HTTP3ServerFactory,
)
from hface.protocols.http2 import HTTP2ClientFactory


def test_events_compare_as_hface_s_dataclasses():
    assert HeadersReceived(1, [(b":status", b"200")], True) == HeadersReceived(
        1, [(b":status", b"200")], True
    )
    assert DataReceived(1, b"x") != DataReceived(3, b"x")
    # A termination's message is not compared.
    assert ConnectionTerminated(0, "one") == ConnectionTerminated(0, "other")
    assert GoawayReceived(7).error_code == 0
    assert isinstance(StreamResetReceived(5, 8), StreamReset)
    assert StreamResetReceived(5, 8) != StreamResetSent(5, 8)
    assert (
        repr(DataReceived(1, b"abc", True))
        == "DataReceived(stream_id=1, len(data)=3, end_stream=True)"
    )


def test_tls_configs_clone():
    client = ClientTLSConfig(cafile="ca.pem")
    copy = client.clone()
    copy.insecure = True
    assert client.insecure is False and copy.cafile == "ca.pem"
    assert ServerTLSConfig("c.pem", "k.pem").clone() == ServerTLSConfig("c.pem", "k.pem")


def test_each_version_has_its_error_codes():
    assert HTTP1Protocol.error_codes == HTTPErrorCodes(400, 500, 502)
    assert HTTP2Protocol.error_codes.internal_error == 0x2
    assert HTTP3Protocol.error_codes.internal_error == 0x0102
    assert (HTTP1Protocol.http_version, HTTP2Protocol.http_version) == ("1.1", "2")
    assert HTTP3Protocol.multiplexed and not HTTP1Protocol.multiplexed


def test_alpn_factory_offers_what_its_factories_speak():
    both = ALPNHTTPFactory([HTTP2ServerFactory(), HTTP1ServerFactory()])
    assert both.alpn_protocols == ["h2", "http/1.1"]
    assert both.default_alpn_protocol == "http/1.1"
    with pytest.raises(ValueError, match="none of"):
        ALPNHTTPFactory([HTTP2ServerFactory()])
    with pytest.raises(ValueError, match="mix"):
        ALPNHTTPFactory([HTTP1ServerFactory(), HTTP2ClientFactory()])
    assert HTTP3ServerFactory().quic_supported_versions == [1]


def test_sans_io_methods_say_the_engine_does_the_work():
    with pytest.raises(NotImplementedError, match="engine does the protocol work"):
        HTTP1Protocol().submit_headers(1, [])
    with pytest.raises(NotImplementedError, match=r"HTTP1ClientFactory.__call__\(\)"):
        HTTP1ClientFactory()()


def test_outside_hornbeam_listeners_and_openers_say_the_engine_is_hornbeam_s():
    async def attempts():
        for attempt in (
            HTTPOverTCPListener.create(HTTP1ServerFactory(), local_address=("127.0.0.1", 0)),
            HTTPOverQUICListener.create(
                HTTP3ServerFactory(), local_address=("127.0.0.1", 0), tls_config=ServerTLSConfig()
            ),
            HTTPOverTCPOpener(HTTP1ClientFactory())(("127.0.0.1", 80)),
            HTTPOverQUICOpener(None)(("127.0.0.1", 443)),
            SystemNetworking().connect_tcp(("127.0.0.1", 80)),
        ):
            with pytest.raises(RuntimeError, match="needs Hornbeam's engine"):
                await attempt

    asyncio.run(attempts())


def test_a_multi_listener_serves_and_closes_all():
    served, closed = [], []

    class Fake:
        def __init__(self, name):
            self.name = name

        async def serve(self, handler):
            served.append((self.name, handler))

        async def aclose(self):
            closed.append(self.name)

    async def run():
        async with HTTPMultiListener([Fake("tcp"), Fake("quic")]) as listener:
            await listener.serve(print)

    asyncio.run(run())
    assert served == [("tcp", print), ("quic", print)] and closed == ["tcp", "quic"]


def test_the_public_names_are_hface_s():
    assert set(hface.__all__) >= {"ServerTLSConfig", "ClientTLSConfig", "HTTPErrorCodes"}
    assert hface.HeadersType and hface.AddressType
