import logging

from convai_tui.core.errors.redact import (
    JWT_PLACEHOLDER,
    REDACTOR,
    RedactingFilter,
    Redactor,
    redact,
    redact_token,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMzQ1Njc4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def test_registered_secret_and_any_jwt_are_replaced() -> None:
    r = Redactor()
    r.add_secret("sk-very-secret-key-123")
    text = f"key sk-very-secret-key-123 token {JWT} end"
    out = r.redact(text)
    assert "sk-very-secret-key-123" not in out and JWT not in out
    assert JWT_PLACEHOLDER in out and "[redacted]" in out


def test_query_and_header_forms() -> None:
    out = redact("ws://h/rtc?access_token=abc.def.ghi&x=1 X-API-Key: abcdef123456")
    assert "abc.def.ghi" not in out and "abcdef123456" not in out
    assert "x=1" in out


def test_short_values_are_not_registered() -> None:
    r = Redactor()
    r.add_secret("abc")
    assert r.redact("abc abc") == "abc abc"


def test_redact_token_shows_only_a_prefix() -> None:
    assert redact_token(JWT) == "eyJ…[redacted]"
    assert redact_token(None) is None


def test_redact_token_shows_nothing_of_a_secret_that_is_not_a_jwt() -> None:
    # The monitor's diagnostics panel uses this rule too: an API key must not lose 3 characters.
    assert redact_token("sk-live-0123456789") == "[redacted]"


def test_logging_filter_redacts_args_and_exceptions() -> None:
    REDACTOR.add_secret("sk-logged-secret-999")
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "key=%s token=%s", ("sk-logged-secret-999", JWT), None
    )
    try:
        raise RuntimeError(f"failed with {JWT}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert "sk-logged-secret-999" not in record.getMessage()
    assert JWT not in record.getMessage()
    assert record.exc_text is not None and JWT not in record.exc_text
