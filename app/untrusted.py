"""Checks on values that come from outside (files, request bodies) before they are stored,
served or fetched: article URLs, and addresses the server must not fetch on someone's
behalf (JSON depth: limits_json.py).

Shared by ingest (which stores) and the API (which serves), so it imports nothing from either.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
# Browsers strip leading C0 controls and spaces and drop tabs and newlines inside a URL, so
# "java\tscript:" is javascript: to them; a URL holding any control character is refused.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_scheme(url: str) -> str:
    """The scheme a browser would see in `url`, lower-case ("" when there is none)."""
    head = url.split(":", 1)[0] if ":" in url else ""
    return _CONTROL.sub("", head).strip().lower()


def web_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL with a host and no control characters, else None.

    Only such URLs may become an article's link: javascript:, data: and the like would run
    or carry content in a reader's browser when a feed or page links to them.
    """
    if not url or _CONTROL.search(url) or url != url.strip():
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return url


def refuse_private(url: str) -> str | None:
    """Why the server must not fetch `url` for someone else (SSRF), None when it may.

    The host is resolved, and every address it gives must be a public one: loopback
    (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
    (169.254/16, where cloud metadata answers, fe80::/10), shared (100.64/10), multicast,
    reserved and unspecified addresses are refused, IPv4 written as IPv6 too. The check is
    made again at each redirect by the caller; a host whose DNS changes between the check
    and the connection (rebinding) is not caught here.
    """
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return f"{url[:200]!r} has no host"
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except ValueError:
        return f"{url[:200]!r} has an invalid port"
    except (OSError, UnicodeError) as exc:
        return f"{host} does not resolve ({exc})"
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global:
            named = host if host.strip("[]") == str(address) else f"{host} ({address})"
            return f"{named} is {_kind(address)} address"
    return None


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """What sort of non-public address it is, for the error message."""
    if address.is_loopback:
        return "a loopback"
    if address.is_link_local:
        return "a link-local (cloud metadata)"
    if address.is_private:
        return "a private"
    return "a non-public"
