from dataclasses import dataclass


@dataclass(frozen=True)
class HTTPErrorCodes:
    """The error codes of one HTTP version for common cases, for ``send_stream_reset``."""

    #: The peer broke the protocol.
    protocol_error: int
    #: Something went wrong on this side.
    internal_error: int
    #: The connection a CONNECT request opened failed.
    connect_error: int


# HTTP/1.1 has no stream reset: hface uses status codes. HTTP/2: RFC 9113 section 7.
# HTTP/3: RFC 9114 section 8.1.
HTTP1_ERROR_CODES = HTTPErrorCodes(protocol_error=400, internal_error=500, connect_error=502)
HTTP2_ERROR_CODES = HTTPErrorCodes(protocol_error=0x1, internal_error=0x2, connect_error=0xA)
HTTP3_ERROR_CODES = HTTPErrorCodes(
    protocol_error=0x0101, internal_error=0x0102, connect_error=0x010F
)


def error_codes_for(http_version: str) -> HTTPErrorCodes:
    if http_version == "2":
        return HTTP2_ERROR_CODES
    if http_version == "3":
        return HTTP3_ERROR_CODES
    return HTTP1_ERROR_CODES
