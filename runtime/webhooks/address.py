"""The address guard (SSRF): which webhook URLs may be saved, and which addresses called."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from urllib.parse import urlsplit

from runtime.platform.errors import ValidationError

MAX_URL_LENGTH = 2048


class Refused(Exception):
    """The URL may not be called from here (SSRF guard)."""


# IPv6 prefixes whose last 32 bits are an IPv4 address: NAT64's well-known prefix
# (RFC 6052; a DNS64 host reaches IPv4-only receivers through it) and the deprecated
# IPv4-compatible form (RFC 4291, ::a.b.c.d).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 one carries: mapped, compatible, NAT64, 6to4, Teredo."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    found.extend(address.teredo or ())  # (server, client)
    if address in NAT64 or address in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return found


def non_public(address: IPAddress) -> bool:
    """Not for webhooks: loopback, private, link-local, site-local, unique-local, shared,
    unspecified, multicast or reserved, or an IPv6 address that carries such an IPv4 one.
    An IPv4-mapped or NAT64 address is judged by the IPv4 address it reaches; every other
    embedding (IPv4-compatible, NAT64 local-use 64:ff9b:1::/48, Teredo) is reserved or
    private in itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return not address.is_global or address.is_multicast or address.is_reserved
    if any(non_public(inner) for inner in embedded_ipv4(address)):
        return True
    if address.ipv4_mapped is not None or address in NAT64:
        return False
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_site_local
        or address.is_link_local
        or address.is_loopback
        or address.is_unspecified
    )


def check_url(url: str, allow_private: bool) -> str:
    # ASCII without spaces or controls: an international name is sent in its punycode form.
    if not all(33 <= ord(c) < 127 for c in url):
        raise ValidationError("url must be ASCII, without spaces (use punycode)", field="url")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise ValidationError("url has a malformed port", field="url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("url must be an absolute http(s) URL", field="url")
    try:
        parts.hostname.encode("idna")
    except UnicodeError as exc:
        raise ValidationError("url has a malformed host name", field="url") from exc
    with contextlib.suppress(ValueError):
        if not allow_private and non_public(ipaddress.ip_address(parts.hostname)):
            raise ValidationError("url must not point at a non-public address", field="url")
    if parts.username or parts.password:
        raise ValidationError("url must not carry credentials", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"url must be at most {MAX_URL_LENGTH} characters", field="url")
    return url


async def resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses to connect to: resolved once and checked, then used as they are, so
    DNS cannot answer differently between the check and the connection (rebinding)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host}") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise Refused(f"cannot resolve {host}")
    if not allow_private:
        blocked = [a for a in addresses if non_public(a)]
        if blocked:
            raise Refused(f"{host} resolves to a non-public address ({blocked[0]})")
    return [str(a) for a in addresses]
