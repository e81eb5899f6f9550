"""Where a webhook may be sent: never, unless an operator listed the host, to an address
of this machine or of the private network behind it (server-side request forgery).

The host is resolved and every address it resolves to must be public (no loopback,
private, link-local, shared, multicast, reserved or unspecified address, IPv4 inside
IPv6 included). The check runs when a subscription is created (a clear 422) and
again before every attempt, and the attempt then connects to the very address that
was checked (the URL's host stays in the ``Host`` header and TLS's server name), so a
name that resolves to a public address at the check and to a private one a moment
later (DNS rebinding) reaches nothing it should not. Redirects are never followed.
Hosts listed in ``CRM_WEBHOOK_ALLOWED_HOSTS`` are exempt: an operator's own receivers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(ValueError):
    """Why a webhook URL may not be called (safe to show: it names only the URL's host)."""


@dataclass(frozen=True)
class Target:
    """What an attempt connects to: the URL to request (its host an address that was
    checked, unless the host is listed) and the extensions that keep TLS on the name."""

    url: httpx.URL
    host_header: str
    extensions: dict[str, str] = field(default_factory=dict)


def check_url(url: str) -> httpx.URL:
    """The URL parsed, if it is an absolute http(s) URL with a host; ``Refused`` otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as error:
        raise Refused(f"The URL cannot be read: {str(error)[:100]}.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Refused("Send an absolute http:// or https:// URL with a host.")
    return parsed


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` lies on the public internet (IPv4 mapped into IPv6 judged as
    the IPv4 address it carries)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def target(url: str, allowed: frozenset[str], resolve_seconds: float) -> Target:
    """Where to send a delivery for ``url``; ``Refused`` if its host may not be called."""
    parsed = check_url(url)
    host = parsed.host.lower()
    if host in allowed:
        return Target(parsed, parsed.netloc.decode("ascii"))
    address = (await _addresses(parsed, resolve_seconds))[0]
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(parsed.copy_with(host=str(address)), parsed.netloc.decode("ascii"), extensions)


async def _addresses(parsed: httpx.URL, resolve_seconds: float) -> list[IPAddress]:
    """Every address the URL's host resolves to, all of them public."""
    try:
        literal = ipaddress.ip_address(parsed.host)
    except ValueError:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await _resolve(parsed.host, port, resolve_seconds)
    else:
        addresses = [literal]
    for address in addresses:
        if not is_public(address):
            raise Refused(
                f"{parsed.host} is or resolves to a private, loopback or link-local address "
                f"({address}); an operator may list the host in CRM_WEBHOOK_ALLOWED_HOSTS."
            )
    return addresses


async def _resolve(host: str, port: int, resolve_seconds: float) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(resolve_seconds):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        raise Refused(f"{host} does not resolve; check the URL's host name.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    if not addresses:
        raise Refused(f"{host} does not resolve; check the URL's host name.")
    return addresses
