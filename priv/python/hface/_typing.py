from collections.abc import Sequence

#: One header: name and value, both bytes. Pseudo-headers (``:method``, ``:status``...)
#: are headers too, on every HTTP version.
HeaderType = tuple[bytes, bytes]
HeadersType = Sequence[HeaderType]
#: ``(host, port)``.
AddressType = tuple[str, int]
DatagramType = tuple[bytes, AddressType]
