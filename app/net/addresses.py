"""Where an outgoing request may go: a check against server-side request forgery.

A URL a user gives (a webhook) must not let them make the server call itself, its private
network or a cloud metadata service. The host is resolved first and every address it
resolves to is checked, so a public name pointing at 10.0.0.1 is refused like 10.0.0.1.
Resolution is a parameter, so tests resolve names to addresses of their choosing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Host name and port to the addresses it resolves to.
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Cloud metadata services: refused even when private addresses are allowed.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
PRIVATE_HINT = " (NEWSDESK_WEBHOOK_ALLOW_PRIVATE=1 allows it)"


class RefusedTarget(ValueError):
    """The URL may not be requested: why, for the person who gave it."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for host (every family)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise RefusedTarget(f"{host}: the name does not resolve ({error.strerror})") from None
    except (UnicodeError, ValueError, OSError) as error:  # a label too long for IDNA, a NUL
        raise RefusedTarget(f"{host}: not a host name ({error})") from None
    return [str(info[4][0]) for info in infos]


def refusal(address: IpAddress, allow_private: bool) -> str | None:
    """Why a request to this address is refused, or None when it may go."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_multicast or address.is_unspecified:
        return "not a unicast address"
    if allow_private or address.is_global:
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    return "a private or reserved address"


def check_url(
    url: str, *, allow_private: bool = False, resolve: Resolver = system_resolver
) -> list[IpAddress]:
    """The addresses `url` reaches when every one may be requested; RefusedTarget otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedTarget(f"not a valid URL: {error}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise RefusedTarget("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise RefusedTarget("the URL has no host")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    literal = True
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        literal = False
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    if not addresses:
        raise RefusedTarget(f"{host}: the name does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private)
        if reason is not None:
            metadata = reason == "a cloud metadata address"
            hint = "" if allow_private or metadata else PRIVATE_HINT
            shown = f"{host} is" if literal else f"{host} resolves to {address},"
            raise RefusedTarget(f"{shown} {reason}{hint}")
    return addresses
