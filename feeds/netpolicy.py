"""Outbound policy: which hosts and addresses a source may make the bot request (SSRF guard).

Pure values and functions; :mod:`feeds.fetch` applies them to every hop and every connection.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

import httpx

from feeds.models import Source

__all__ = [
    "OutboundPolicy",
    "Site",
    "address_refusal",
    "article_policy",
    "dropped_link",
    "host_address",
    "listing_policy",
    "metadata_address",
    "metadata_refusal",
    "parse_site",
    "site_of",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEFAULT_PORTS = (80, 443)
# One label of a loose IPv4 spelling as inet_aton() reads it: decimal, 0-octal or 0x-hex.
_NUMERIC_LABEL = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)")


def _loose_ipv4(host: str) -> ipaddress.IPv4Address | None | Literal[False]:
    """``127.0.0.1``, ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` -> the address.

    None when ``host`` is not numeric at all (a name), False when it looks numeric but is no
    valid address (refused: resolvers and browsers disagree on such spellings).
    """
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # "127.0.0.1." is the same host
    if not _NUMERIC_LABEL.fullmatch(parts[-1]):
        return None  # a name ends with a non-numeric label
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_LABEL.fullmatch(p) for p in parts):
        return False
    nums: list[int] = []
    for p in parts:
        if p[:2].lower() == "0x":
            nums.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p.startswith("0"):
            if not set(p) <= set("01234567"):
                return False
            nums.append(int(p, 8))
        else:
            nums.append(int(p))
    *head, last = nums
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return False
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def host_address(host: str) -> IPAddress | None | Literal[False]:
    """The address a URL host spells (any IPv4 spelling, bracketed IPv6), None for a name,
    False for a numeric-looking host that is no valid address."""
    h = host.strip().lower().removeprefix("[").removesuffix("]")
    h = h.split("%", 1)[0]  # an IPv6 zone id ("fe80::1%eth0") names an interface, not a host
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    if ":" in h:
        return False  # not a name, not a valid IPv6 address
    return _loose_ipv4(h)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible, 6to4, Teredo, NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if 1 < int(ip) < 2**32:
        return ipaddress.IPv4Address(int(ip))  # deprecated "IPv4-compatible" ::a.b.c.d
    return None


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not an ordinary public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            why = address_refusal(inner)
            if why:
                return f"{why} (as {ip})"
    checks = (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("shared (CGNAT)", ip in _CGNAT),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("non-global", not ip.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {ip}"
    return None


#: cloud instance-metadata services: never fetched, whatever a source or a setting allows
#: (their answers carry the machine's credentials)
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Hetzner, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS IMDS over IPv6
    )
)
#: names of the same services (they resolve to the addresses above from inside the cloud)
METADATA_HOSTS = frozenset(
    (
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    )
)


def metadata_address(ip: IPAddress) -> bool:
    """Whether ``ip`` is a cloud metadata service, in any form (IPv4-mapped, NAT64, ...)."""
    if ip in METADATA_ADDRESSES:
        return True
    inner = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return inner is not None and inner in METADATA_ADDRESSES


def metadata_refusal(url: str) -> str | None:
    """Why ``url`` names a cloud metadata service (its address in any spelling, or one of its
    names), or None. Refused always: no ``allow_private`` and no setting lifts this."""
    try:
        host = _parse(url).host
    except httpx.InvalidURL:
        return None  # not fetchable at all: the policy says why
    ip = host_address(host)
    if ip is not None and ip is not False:
        return f"cloud metadata address {ip}" if metadata_address(ip) else None
    name = host.strip().lower().rstrip(".")
    if name in METADATA_HOSTS:
        return f"cloud metadata host {name}"
    return None


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class Site:
    """A host articles may come from: ``www.`` stripped; port None means the default ports
    (80 and 443 count as one, so http and https match alike); ``subdomains`` for ``*.host``."""

    host: str
    port: int | None = None
    subdomains: bool = False

    def matches(self, host: str, port: int | None) -> bool:
        """Whether a URL's (host, port) is this site."""
        h = _bare_host(host)
        if _norm_port(port) != self.port:
            return False
        return h == self.host or (self.subdomains and h.endswith("." + self.host))


def _bare_host(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("www.")


def _norm_port(port: int | None) -> int | None:
    return None if port is None or port in _DEFAULT_PORTS else port


def _parse(url: str) -> httpx.URL:
    # httpx's parser, not urllib's: the host checked must be the host httpx connects to.
    return httpx.URL(url)


def site_of(url: str) -> Site:
    """The site of a URL (its host without ``www.``, its non-default port)."""
    parts = _parse(url)
    return Site(_bare_host(parts.host), _norm_port(parts.port))


def parse_site(spec: str) -> Site:
    """An ``article_hosts`` entry: ``host``, ``host:port``, ``*.host`` or a URL; ValueError."""
    text = spec.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = _parse(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{spec!r}: {exc}") from None
    host, port = parts.host, parts.port
    if parts.scheme not in ("http", "https") or not host or parts.path not in ("", "/"):
        raise ValueError(f"{spec!r} is not a host name (e.g. cdn.example.vn or *.example.vn)")
    wild = host.startswith("*.")
    host = _bare_host(host.removeprefix("*."))
    if not host or "*" in host:
        raise ValueError(f"{spec!r}: a wildcard only as the first label (*.example.vn)")
    return Site(host, _norm_port(port), wild)


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class OutboundPolicy:
    """What one fetch may reach. ``sites`` None: any host (an admin-configured listing URL);
    ``allow_private``: private, loopback, link-local... addresses too; ``label`` names the
    source in logs and refusal counts."""

    allow_private: bool = False
    sites: tuple[Site, ...] | None = None
    label: str = ""

    def url_refusal(self, url: str) -> str | None:
        """Why ``url`` must not be requested (before DNS), or None."""
        try:
            parts = _parse(url)
        except httpx.InvalidURL as exc:
            return f"malformed URL ({exc})"
        if parts.scheme not in ("http", "https"):
            return f"scheme {parts.scheme or '(none)'!r} is not http(s)"
        host, port = parts.host, parts.port
        if not host:
            return "no host"
        if self.sites is not None and not any(s.matches(host, port) for s in self.sites):
            return f"host {host} is not the source's site nor one of its article_hosts"
        if self.allow_private:
            return None
        ip = host_address(host)
        if ip is False:
            return f"host {host!r} is a malformed numeric address"
        if ip is not None:
            return address_refusal(ip)
        name = _bare_host(host)
        if name == "localhost" or name.endswith(".localhost"):
            return f"host {host} is loopback"
        return None


def listing_policy(source: Source) -> OutboundPolicy:
    """The listing URL is the admin's choice: any host, but private ranges only if allowed."""
    return OutboundPolicy(allow_private=source.allow_private, label=source.id)


def article_policy(source: Source) -> OutboundPolicy:
    """Article pages. A source that does not allow private addresses: any public host, so a
    feed's links to subdomains, publishers and redirectors are all fetched (no host rule:
    the address rule is what keeps the bot off internal hosts). A source that allows them:
    only its own site and its ``article_hosts``, on every hop, since a name there may
    resolve to any address."""
    if not source.allow_private:
        return OutboundPolicy(label=source.id)
    sites = (site_of(source.url), *(parse_site(h) for h in source.article_hosts))
    return OutboundPolicy(allow_private=True, sites=sites, label=source.id)


def dropped_link(source: Source, url: str) -> str | None:
    """Why an entry whose link is ``url`` is not stored at all, or None (the usual case).

    The one drop: a link that names a non-public host as written (an address in any
    spelling, ``localhost``) in a source that does not allow private addresses, or a link
    that is no http(s) URL. Whether the page is also fetched is :func:`article_policy`'s.
    """
    return listing_policy(source).url_refusal(url)
