import dataclasses


@dataclasses.dataclass
class ClientTLSConfig:
    """How a client verifies the servers it connects to."""

    #: Accept a server whose certificate does not verify.
    insecure: bool = False
    #: A file of CA certificates to trust.
    cafile: str | None = None
    #: A directory of CA certificates to trust.
    capath: str | None = None
    #: CA certificates to trust, PEM or DER.
    cadata: bytes | None = None

    def clone(self) -> "ClientTLSConfig":
        return dataclasses.replace(self)


@dataclasses.dataclass
class ServerTLSConfig:
    """A server's certificate and key."""

    certfile: str | None = None
    keyfile: str | None = None

    def clone(self) -> "ServerTLSConfig":
        return dataclasses.replace(self)
