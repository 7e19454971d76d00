"""The REST gateway (api.convai.com): only what a session monitor needs, the character's name,
and which host may be asked for it with the API key (`rest_url_for`)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from convai_tui.core.errors.redact import REDACTOR

log = logging.getLogger("convai_tui.connection")
DEFAULT_REST_URL = "https://api.convai.com"


def is_convai_cloud(url: str) -> bool:
    """Whether the URL's host is Convai's own (convai.com or a subdomain of it)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "convai.com" or host.endswith(".convai.com")


def rest_url_for(connect_url: str, rest_url: str | None) -> str:
    """The REST host asked for character metadata (POST {it}/character/get with the API key).

    The key goes only to a host the user configured: their own `rest_url` (flag, env or config
    file) when given; api.convai.com when the connect URL is Convai's cloud; otherwise the
    connect URL itself, which already receives the key on /connect (the stand-in answers
    /character/get there; a service that does not simply yields no name).
    """
    if rest_url:
        return rest_url.rstrip("/")
    if is_convai_cloud(connect_url):
        return DEFAULT_REST_URL
    return connect_url.rstrip("/")


async def fetch_character_name(
    rest_url: str,
    api_key: str,
    character_id: str,
    *,
    timeout_s: float = 3.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str | None:
    """POST /character/get {"charID"} with CONVAI-API-KEY; the name, or None when unreachable.

    Best effort by design: the monitor falls back to the character id, so every failure is
    logged and swallowed. Unity also accepts the body wrapped under "response".
    """
    REDACTOR.add_secret(api_key)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, verify=True, transport=transport) as client:
            response = await client.post(
                f"{rest_url.rstrip('/')}/character/get",
                json={"charID": character_id},
                headers={"CONVAI-API-KEY": api_key},
            )
        if response.status_code != 200:
            log.info("character/get answered HTTP %s", response.status_code)
            return None
        body = response.json()
    except (httpx.HTTPError, OSError, ValueError) as exc:
        log.info("character/get failed: %s", REDACTOR.redact(str(exc) or type(exc).__name__))
        return None
    if isinstance(body, dict) and isinstance(body.get("response"), dict):
        body = body["response"]
    name = body.get("character_name") if isinstance(body, dict) else None
    return name if isinstance(name, str) and name.strip() else None
