"""`convai-tui doctor`'s host checks: DNS, then TCP, then a verified TLS handshake for one
URL, with a hint naming the product when a TLS-inspecting proxy re-signs the certificate."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from convai_tui.core.settings.session_settings import is_loopback
from convai_tui.doctor.report import (
    CHECK_TIMEOUT_S,
    FIX_CONVAI_TCP,
    FIX_DNS,
    FIX_TLS_INSPECTION,
    Check,
    DoctorOptions,
    DoctorReport,
    Skipped,
)

# Issuer names of products that re-sign TLS traffic (corporate proxies, antivirus web shields).
TLS_INSPECTION_ISSUERS = (
    "zscaler",
    "netskope",
    "fortinet",
    "fortigate",
    "palo alto",
    "blue coat",
    "bluecoat",
    "symantec web",
    "cisco umbrella",
    "sophos",
    "mcafee web gateway",
    "forcepoint",
    "websense",
    "kaspersky",
    "avast",
    "avg web",
    "eset ssl filter",
    "bitdefender",
    "checkpoint",
    "check point",
    "barracuda",
    "squid",
    "mitmproxy",
    "charles proxy",
    "fiddler",
)


def _host_port(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme in ("https", "wss") else 80)
    return host, port, scheme


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def check_dns(prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S) -> Check:
    name = f"{prefix}.dns"
    host, port, _ = _host_port(url)
    if not host:
        return Check(name, False, f"{url!r} has no host name.", "Fix the URL.")
    if _is_ip(host):
        return Check(name, True, f"{host} is an IP address: nothing to resolve.")
    try:
        async with asyncio.timeout(timeout_s):
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
    except TimeoutError:
        return Check(name, False, f"Resolving {host} took longer than {timeout_s:g} s.", FIX_DNS)
    except OSError as exc:
        return Check(name, False, f"{host} does not resolve: {exc}.", FIX_DNS)
    addresses = sorted({str(info[4][0]) for info in infos})
    return Check(name, True, f"{host} resolves to {', '.join(addresses[:4])}.")


async def check_tcp(
    prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S, fix: str = FIX_CONVAI_TCP
) -> Check:
    name = f"{prefix}.tcp"
    host, port, _ = _host_port(url)
    if is_loopback(host):
        fix = (
            f"Nothing answers on {host}:{port}: start the service (the local stand-in: "
            "`convai-tui local-server`) or fix the URL."
        )
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host.strip("[]"), port)
    except TimeoutError:
        return Check(
            name,
            False,
            f"No answer from {host}:{port} within {timeout_s:g} s (a firewall dropping packets?).",
            fix,
        )
    except OSError as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc)
        return Check(name, False, f"Cannot open TCP {host}:{port}: {reason}.", fix)
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return Check(
        name, True, f"TCP {host}:{port} open ({(time.monotonic() - started) * 1000:.0f} ms)."
    )


def _issuer_text(cert: dict[str, Any]) -> str:
    fields: dict[str, str] = {}
    for rdn in cert.get("issuer", ()):
        for key, value in rdn:
            fields.setdefault(str(key), str(value))
    parts = [fields.get("organizationName"), fields.get("commonName")]
    return " / ".join(p for p in parts if p) or "an unknown issuer"


def inspection_hint(issuer: str) -> str | None:
    """A TLS-inspection warning when the issuer names a product that re-signs traffic."""
    lowered = issuer.lower()
    product = next((p for p in TLS_INSPECTION_ISSUERS if p in lowered), None)
    if product is None:
        return None
    return (
        f"the certificate is issued by {issuer}, which looks like a TLS-inspecting proxy "
        "or antivirus, not a public CA"
    )


async def _handshake(
    host: str, port: int, context: ssl.SSLContext, timeout_s: float
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        _, writer = await asyncio.open_connection(
            host.strip("[]"), port, ssl=context, server_hostname=host
        )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object else None
        version = ssl_object.version() if ssl_object else None
        return {"cert": cert or {}, "version": version}
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def check_tls(
    prefix: str, url: str, timeout_s: float = CHECK_TIMEOUT_S, insecure_http: bool = False
) -> Check:
    """A verified TLS handshake with the CA bundle the client uses (httpx's), and a hint when
    the chain looks re-signed by a TLS-inspecting proxy."""
    name = f"{prefix}.tls"
    host, port, scheme = _host_port(url)
    if scheme in ("http", "ws"):
        if is_loopback(host):
            return Check(name, True, f"plain http on loopback ({host}:{port}): no TLS to check.")
        return Check(
            name,
            insecure_http,
            f"plain {scheme}:// to {host}: the traffic is not "
            "encrypted" + (" (allowed by --insecure-http)." if insecure_http else "."),
            "Use an https:// URL.",
        )
    context = httpx.create_ssl_context()
    try:
        result = await _handshake(host, port, context, timeout_s)
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or str(exc)
        hint = await _system_store_hint(host, port, timeout_s)
        detail = f"The certificate of {host} is not trusted ({reason})."
        if hint:
            detail += f" TLS inspection likely: {hint}."
        else:
            detail += (
                " If this network has a proxy that inspects HTTPS, it may be re-signing "
                "the traffic."
            )
        return Check(name, False, detail, FIX_TLS_INSPECTION)
    except TimeoutError:
        return Check(
            name,
            False,
            f"The TLS handshake with {host}:{port} took longer than {timeout_s:g} s.",
            FIX_CONVAI_TCP,
        )
    except (ssl.SSLError, OSError) as exc:
        return Check(
            name,
            False,
            f"TLS with {host}:{port} failed: {exc}. A proxy may be interfering with HTTPS.",
            FIX_TLS_INSPECTION,
        )
    issuer = _issuer_text(result["cert"])
    hint = inspection_hint(issuer)
    if hint:
        return Check(
            name, False, f"{result['version']} handshake verified, but {hint}.", FIX_TLS_INSPECTION
        )
    expires = result["cert"].get("notAfter", "?")
    return Check(
        name,
        True,
        f"{result['version']}, certificate verified, issued by {issuer}, valid until {expires}.",
    )


async def _system_store_hint(host: str, port: int, timeout_s: float) -> str | None:
    """When the public CA bundle rejects the chain but this machine's own store accepts it, a
    locally installed CA (a corporate proxy's) signed it."""
    try:
        result = await _handshake(host, port, ssl.create_default_context(), timeout_s)
    except Exception:
        return None
    return (
        f"the chain is signed by {_issuer_text(result['cert'])}, a CA trusted by this "
        "machine but not a public CA"
    )


async def host_checks(
    prefix: str,
    url: str,
    options: DoctorOptions,
    report: DoctorReport,
    tcp_fix: str = FIX_CONVAI_TCP,
) -> bool:
    """DNS, then TCP, then TLS for one URL; later steps are skipped when an earlier one fails."""
    dns = await check_dns(prefix, url, options.timeout_s)
    report.checks.append(dns)
    if not dns.ok:
        report.skipped += [
            Skipped(f"{prefix}.tcp", "DNS failed"),
            Skipped(f"{prefix}.tls", "DNS failed"),
        ]
        return False
    tcp = await check_tcp(prefix, url, options.timeout_s, tcp_fix)
    report.checks.append(tcp)
    if not tcp.ok:
        report.skipped.append(Skipped(f"{prefix}.tls", "TCP failed"))
        return False
    tls = await check_tls(prefix, url, options.timeout_s, options.insecure_http)
    report.checks.append(tls)
    return tls.ok
