"""The client's address, as login lock-outs, token throttling and the scan page count it.

``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when
the request arrives from one of ``REFMETER_TRUSTED_PROXIES`` (addresses or networks,
empty by default). Then the header is read from the right, skipping the trusted proxies
that appended to it, and the first address that is not a trusted proxy is the client:
anything to the left of it was written by the client itself.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"REFMETER_TRUSTED_PROXIES must list IP addresses or networks: {error}"
        ) from error


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "REFMETER_TRUSTED_PROXIES", ())))


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_address(request: HttpRequest) -> str:
    """The address of the client that made the request (also axes' AXES_CLIENT_IP_CALLABLE)."""
    remote_text = request.META.get("REMOTE_ADDR", "") or ""
    proxies = trusted_proxies()
    remote = _address(remote_text)
    if remote is None:
        return remote_text
    if not proxies or not _trusted(remote, proxies):
        return str(remote)
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A trusted proxy writes real addresses; rubbish means the chain is not
            # what the setting says, so believe only the connection itself.
            return str(remote)
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)
