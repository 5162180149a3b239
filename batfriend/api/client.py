"""Who is asking: the client's address as the local proxy reports it, and whether it is us.

Behind Elastic Beanstalk's nginx the peer is the proxy, which names the client
in ``X-Real-IP`` and as the last hop of ``X-Forwarded-For``; without a proxy the
peer is the client. Addresses are parsed, so only a real IP ever names a client.
"""

import ipaddress

import flask

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(text: str | None) -> IpAddress | None:
    """Return ``text`` as an IP address (an IPv4-mapped IPv6 one as IPv4); None if it is not one."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _proxy_reports() -> list[str]:
    """Return what the request's proxy headers say the client is: X-Real-IP, last XFF hop."""
    headers = flask.request.headers
    reports = []
    if "X-Real-IP" in headers:
        reports.append(headers["X-Real-IP"])
    if "X-Forwarded-For" in headers:
        reports.append(headers["X-Forwarded-For"].rsplit(",", 1)[-1])
    return reports


def client_address() -> str:
    """Return the client's IP: X-Real-IP, else the last X-Forwarded-For hop, else the peer."""
    for candidate in (*_proxy_reports(), flask.request.remote_addr):
        address = _parse(candidate)
        if address is not None:
            return str(address)
    return "unknown"


def from_this_machine() -> bool:
    """Return whether the peer is loopback and no proxy header names a client that is not."""
    addresses = [_parse(text) for text in (flask.request.remote_addr, *_proxy_reports())]
    return all(address is not None and address.is_loopback for address in addresses)
