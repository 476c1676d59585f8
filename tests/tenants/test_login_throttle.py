"""Sign-in throttling (core.ratelimit.login_*): HTTP Basic, the admin login and the OAuth2
authorization login share one exponential back-off on failures, keyed per (username, client
IP) and per IP, that never locks the rightful user out from their own address."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_application_model

from doxie.tenants import services
from tests.helpers import PASSWORD, basic_caller

PUBLIC = "/api/v1/acme/whoami"
ATTACKER, USER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def throttle(settings):
    settings.DOXIE_AUTH_FAILURE_LIMIT = 3
    settings.DOXIE_AUTH_IP_FAILURE_LIMIT = 6
    settings.DOXIE_AUTH_BACKOFF_BASE = 100
    settings.DOXIE_AUTH_BACKOFF_MAX = 10_000
    return settings


def _basic(username: str, password: str, ip: str):
    return Client().get(PUBLIC, headers=basic_caller(username, password).headers,
                        REMOTE_ADDR=ip)


def _age_failures(seconds: int) -> None:
    """Time passes for every counter (instead of sleeping in a test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_rate_counter SET window_start = window_start - %s * interval '1 second'",
            [seconds],
        )


def _counters() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, window_start, count FROM core_rate_counter ORDER BY key")
        return cursor.fetchall()


@pytest.mark.django_db
def test_guessing_blocks_the_guesser_not_the_user(api_caller, throttle):
    for _ in range(3):
        assert _basic("api-client", "wrong", ATTACKER).status_code == 401
    blocked = _basic("api-client", "wrong", ATTACKER)
    assert blocked.status_code == 429 and 95 <= int(blocked["Retry-After"]) <= 101
    assert blocked.json()["success"] is False
    # While blocked the password is not even checked: the right one learns nothing either.
    assert _basic("api-client", PASSWORD, ATTACKER).status_code == 429
    # The rightful user, from their own address, is not affected at all.
    assert _basic("api-client", PASSWORD, USER).status_code == 200


@pytest.mark.django_db
def test_other_users_behind_a_guessing_address_still_sign_in(tenant, api_caller, throttle):
    services.create_api_user(tenant=tenant, username="colleague", password=PASSWORD,
                             password_confirmation=PASSWORD)
    for _ in range(3):
        assert _basic("api-client", "wrong", ATTACKER).status_code == 401
    assert _basic("colleague", PASSWORD, ATTACKER).status_code == 200


@pytest.mark.django_db
def test_back_off_doubles_and_cannot_be_kept_armed_by_blocked_attempts(api_caller, throttle):
    for _ in range(3):
        _basic("api-client", "wrong", ATTACKER)
    assert 95 <= int(_basic("api-client", "x", ATTACKER)["Retry-After"]) <= 101
    before = _counters()
    for _ in range(5):  # hammering while blocked is refused unchecked and not counted
        assert _basic("api-client", "x", ATTACKER).status_code == 429
    assert _counters() == before

    _age_failures(101)  # the first block is over: one more guess is checked ...
    assert _basic("api-client", "wrong", ATTACKER).status_code == 401
    # ... and the next block is twice as long.
    assert 195 <= int(_basic("api-client", "x", ATTACKER)["Retry-After"]) <= 201
    _age_failures(201)
    assert _basic("api-client", "wrong", ATTACKER).status_code == 401
    assert 395 <= int(_basic("api-client", "x", ATTACKER)["Retry-After"]) <= 401
    _age_failures(401)
    assert _basic("api-client", PASSWORD, ATTACKER).status_code == 200


@pytest.mark.django_db
def test_one_address_spraying_usernames_is_blocked(api_caller, throttle):
    for n in range(6):
        assert _basic(f"guess-{n}", "wrong", ATTACKER).status_code == 401
    assert _basic("guess-99", "wrong", ATTACKER).status_code == 429
    assert _basic("api-client", PASSWORD, USER).status_code == 200


@pytest.mark.django_db
def test_failures_are_forgotten_after_a_quiet_period(api_caller, throttle):
    throttle.DOXIE_AUTH_FAILURE_MEMORY = 20_000
    for _ in range(3):
        _basic("api-client", "wrong", ATTACKER)
    assert _basic("api-client", "wrong", ATTACKER).status_code == 429
    _age_failures(20_001)
    assert _basic("api-client", "wrong", ATTACKER).status_code == 401  # count restarted at 1
    assert _basic("api-client", "wrong", ATTACKER).status_code == 401


@pytest.mark.django_db
def test_success_writes_nothing_and_costs_constant_queries(api_caller, throttle):
    assert _basic("api-client", PASSWORD, USER).status_code == 200  # warm the verify cache
    with CaptureQueriesContext(connection) as queries:
        assert _basic("api-client", PASSWORD, USER).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in statements if "core_rate_counter" in s and "SELECT" not in s]
    assert len(statements) <= 2  # the throttle read and the API user
    assert _counters() == []


# --- The admin login, which is also the OAuth2 authorization login (LOGIN_URL) ----------


def _admin_login(username: str, password: str, ip: str, next_url: str = "/admin/"):
    browser = Client()
    response = browser.post(f"/admin/login/?next={next_url}", {
        "username": username, "password": password, "next": next_url,
    }, REMOTE_ADDR=ip)
    return browser, response


@pytest.fixture
def alice(tenant):
    user, _ = services.create_admin(tenant=tenant, username="alice", email="a@example.com",
                                    can_read=True, can_write=False, password=PASSWORD)
    return user


@pytest.mark.django_db
def test_admin_login_is_throttled_per_user_and_address(alice, throttle):
    for _ in range(3):
        _, response = _admin_login("alice", "wrong", ATTACKER)
        assert response.status_code == 200 and "_auth_user_id" not in _.session
    browser, blocked = _admin_login("alice", PASSWORD, ATTACKER)
    assert "Too many failed sign-in attempts" in blocked.content.decode()
    assert "_auth_user_id" not in browser.session
    browser, ok = _admin_login("alice", PASSWORD, USER)
    assert ok.status_code == 302 and browser.session["_auth_user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_basic_and_admin_failures_share_the_per_address_allowance(alice, api_caller, throttle):
    for n in range(6):
        _admin_login(f"nobody-{n}", "wrong", ATTACKER)
    assert _basic("api-client", "wrong", ATTACKER).status_code == 429


@pytest.mark.django_db
def test_oauth_authorization_login_is_throttled(alice, throttle):
    app = get_application_model().objects.create(
        name="dashboard", user=alice, client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="http://127.0.0.1:9/cb", algorithm="",
    )
    authorize = (f"/oauth/authorize?response_type=code&client_id={app.client_id}"
                 "&redirect_uri=http://127.0.0.1:9/cb&code_challenge_method=S256"
                 "&code_challenge=" + "a" * 43)
    first = Client().get(authorize, REMOTE_ADDR=ATTACKER)
    assert first.status_code == 302
    login_url = first["Location"]
    assert login_url.startswith("/admin/login/")
    for _ in range(3):
        Client().post(login_url, {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ATTACKER)
    browser = Client()
    blocked = browser.post(login_url, {"username": "alice", "password": PASSWORD},
                           REMOTE_ADDR=ATTACKER)
    assert "Too many failed sign-in attempts" in blocked.content.decode()
    assert browser.get(authorize, REMOTE_ADDR=ATTACKER).status_code == 302  # still anonymous
