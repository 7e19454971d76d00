import httpx
import pytest

from convai_tui.core.connect.rest_api import fetch_character_name, is_convai_cloud, rest_url_for


def transport(status: int, body: object, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handler)


async def test_name_from_character_get() -> None:
    seen: list[httpx.Request] = []
    name = await fetch_character_name(
        "https://api.example",
        "key-123456",
        "c1",
        transport=transport(200, {"character_name": "Ada"}, seen),
    )
    assert name == "Ada"
    assert seen[0].url.path == "/character/get"
    assert seen[0].headers["CONVAI-API-KEY"] == "key-123456"
    assert seen[0].read() == b'{"charID":"c1"}'


async def test_wrapped_response_body() -> None:
    body = {"response": {"character_name": "Bo"}}
    assert (
        await fetch_character_name("https://x", "k" * 8, "c", transport=transport(200, body, []))
        == "Bo"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"ERROR": "The request contains an invalid API key."}),
        (400, {"ERROR": "INTERNAL SERVER ERROR, one or more database calls failed!"}),
        (200, ["not", "an", "object"]),
        (200, {"character_name": ""}),
    ],
)
async def test_failures_fall_back_to_none(status: int, body: object) -> None:
    assert (
        await fetch_character_name("https://x", "k" * 8, "c", transport=transport(status, body, []))
        is None
    )


async def test_unreachable_host_is_none() -> None:
    assert await fetch_character_name("http://127.0.0.1:9", "k" * 8, "c", timeout_s=1) is None


@pytest.mark.parametrize(
    ("connect_url", "rest_url", "expected"),
    [
        ("https://live.convai.com", None, "https://api.convai.com"),
        ("https://realtime-api.convai.com/", None, "https://api.convai.com"),
        ("https://convai.com", None, "https://api.convai.com"),
        ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("http://localhost:8080/", None, "http://localhost:8080"),
        ("https://voice.example.org/api", None, "https://voice.example.org/api"),
        ("https://convai.example.org", None, "https://convai.example.org"),
        ("https://notconvai.com", None, "https://notconvai.com"),
        ("https://live.convai.com", "https://rest.example/", "https://rest.example"),
        ("http://127.0.0.1:8080", "https://rest.example", "https://rest.example"),
        ("https://live.convai.com", "", "https://api.convai.com"),
    ],
)
def test_rest_host_belongs_to_the_connect_url(
    connect_url: str, rest_url: str | None, expected: str
) -> None:
    assert rest_url_for(connect_url, rest_url) == expected


def test_convai_cloud_is_convai_com_and_its_subdomains() -> None:
    assert is_convai_cloud("https://live.convai.com") and is_convai_cloud("https://CONVAI.com")
    assert not is_convai_cloud("https://convai.com.evil.example")
    assert not is_convai_cloud("https://myconvai.com") and not is_convai_cloud("not a url")
