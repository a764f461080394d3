"""hface's networking classes. The engine owns every socket in Hornbeam, so these name
the roles; ``SystemNetworking`` is the default that listeners and openers accept."""

from .connections import _not_here

__all__ = [
    "ClientNetworking",
    "QUICServerNetworking",
    "ServerNetworking",
    "SystemNetworking",
    "TCPClientNetworking",
    "TCPServerNetworking",
    "UDPClientNetworking",
]


class TCPServerNetworking:
    async def listen_tcp(self, local_address):
        _not_here("listen_tcp")

    async def listen_tcp_tls(self, local_address, *, tls_config, alpn_protocols):
        _not_here("listen_tcp_tls")


class QUICServerNetworking:
    async def listen_quic(
        self, local_address, *, quic_connection_id_length, quic_supported_versions
    ):
        _not_here("listen_quic")


class ServerNetworking(TCPServerNetworking, QUICServerNetworking):
    pass


class TCPClientNetworking:
    async def connect_tcp(self, remote_address):
        _not_here("connect_tcp")

    async def connect_tcp_tls(self, remote_address, *, server_name, tls_config, alpn_protocols):
        _not_here("connect_tcp_tls")


class UDPClientNetworking:
    async def connect_udp(self, remote_address):
        _not_here("connect_udp")


class ClientNetworking(TCPClientNetworking, UDPClientNetworking):
    pass


class SystemNetworking(ServerNetworking, ClientNetworking):
    """The engine's networking: the default everywhere."""
