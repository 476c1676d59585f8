"""The one tenant-URL validator (no network, no database)."""

from __future__ import annotations

import pytest

from doxie.core.urlcheck import MAX_URL_LENGTH, url_error


@pytest.mark.parametrize(
    "url",
    ["https://example.com", "http://example.com:8080/a?b=c#d", "https://b\u00fccher.example/x",
     "https://93.184.216.34/", "https://[2001:db8::1]/", "https://example.com/%20encoded"],
)
def test_good_urls(url: str) -> None:
    assert url_error(url) is None


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        (None, "non-empty"), ("", "non-empty"), (42, "non-empty"),
        ("example.com/x", "absolute http(s)"), ("mailto:a@example.com", "scheme 'mailto'"),
        ("data:text/html,x", "scheme 'data'"), ("https://", "must have a host"),
        ("https://a.com/\t", "whitespace"), ("https://a.com/\x7f", "control"),
        ("https://a.com/\ud800", "control"), ("https://a.com/\u2028", "whitespace"),
        ("https://a@b.com/", "credentials"), ("https://exa_-.com/", "invalid host"),
        ("https://a.com:0/", "invalid port"),
        ("https://a.com/" + "x" * MAX_URL_LENGTH, "at most"),
    ],
)  # fmt: skip
def test_bad_urls(url: object, fragment: str) -> None:
    problem = url_error(url)
    assert problem is not None and fragment in problem, problem


def test_length_bound_is_a_parameter() -> None:
    assert url_error("https://example.com/abc", max_length=10) is not None
