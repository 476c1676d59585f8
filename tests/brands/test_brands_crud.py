"""A1–A5: list, create, show, update (PATCH/PUT, nested attributes), delete — success paths."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doxie.brands.models import Brand, MailjetApiUser, SmtpConfig, Style
from tests.brands.payloads import (
    BASE,
    BRAND_KEYS,
    MAILJET_KEYS,
    SECRETS,
    SES_KEYS,
    SMTP_KEYS,
    STYLE_KEYS,
    make_bare_brand,
    make_brand,
    minimal_body,
    seed_body,
)


@pytest.mark.django_db
def test_create_answers_the_seed_shape_with_secrets_masked(api, admin, tenant):
    response = api.post(BASE, seed_body(), caller=admin)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"success", "message", "error", "data"}
    assert body["success"] is True
    assert body["message"] == "Erfolgreich erstellt"
    assert body["error"] is None
    data = body["data"]
    assert set(data) == BRAND_KEYS
    assert set(data["mailjet_api_user"]) == MAILJET_KEYS
    assert set(data["ses_api_user"]) == SES_KEYS
    assert set(data["smtp_config"]) == SMTP_KEYS
    assert set(data["style"]) == STYLE_KEYS
    assert data["sms77_api_key"] == data["rcs_api_key"] == "********"
    assert data["mailjet_api_user"]["private_api_key"] == "********"
    assert data["ses_api_user"]["secret_access_key"] == "********"
    assert data["smtp_config"]["password"] == "********"
    assert data["mailjet_api_user"]["public_api_key"] == "mj-public"
    assert data["possible_sender_emails"] == ["noreply@example.com"]
    assert data["sender_phone_number"] == "+491234567890"
    assert data["mail_provider"] == "mailjet"
    assert data["style"]["fallback_font_family"] == "sans-serif"
    assert data["style"]["pages_font_family_weight"] == ["400", "700"]
    assert data["smtp_config"]["openssl_verify_mode"] is None
    for stamp in (data["created_at"], data["updated_at"], data["style"]["created_at"]):
        assert stamp.endswith("Z") and "T" in stamp
    stored = Brand.objects.get(id=data["id"])
    assert stored.tenant == tenant
    assert stored.sms77_api_key == SECRETS["sms77_api_key"]
    assert MailjetApiUser.objects.get(brand=stored).tenant == tenant
    assert len(stored.inbound_token) >= 43
    assert "inbound_token" not in response.content.decode()


@pytest.mark.django_db
def test_minimal_create_has_null_parts_and_null_secrets(api, admin):
    response = api.post(BASE, minimal_body(), caller=admin)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["mailjet_api_user"] is None
    assert data["ses_api_user"] is None
    assert data["smtp_config"] is None
    assert data["style"] is None
    assert data["sms77_api_key"] is None and data["rcs_api_key"] is None
    assert data["mail_provider"] is None
    assert data["possible_sender_emails"] == [] and data["rcs_possible_senders"] == []
    assert data["pseudonymization_duration_of_sent_messages_in_days"] == 30
    assert data["storage_duration_of_sent_messages_in_days"] == 90


@pytest.mark.django_db
def test_show_and_list(api, admin, tenant):
    brand = make_brand(tenant)
    shown = api.get(f"{BASE}/{brand.id}", caller=admin)
    assert shown.status_code == 200
    body = shown.json()
    assert body["message"] is None and body["success"] is True
    assert set(body["data"]) == BRAND_KEYS
    assert body["data"]["smtp_config"]["id"] == brand.smtp_config.id

    listed = api.get(BASE, caller=admin).json()
    assert set(listed["data"]) == {"brands", "pagination"}
    assert [b["id"] for b in listed["data"]["brands"]] == [brand.id]
    assert listed["data"]["brands"][0] == body["data"]
    assert listed["data"]["pagination"] == {
        "current_page": 1, "items_per_page": 200, "total_pages": 1, "total_count": 1,
    }
    assert api.get(f"{BASE}/999999", caller=admin).status_code == 404
    not_an_id = api.get(f"{BASE}/abc", caller=admin)
    assert not_an_id.status_code == 404 and not_an_id.json()["success"] is False


@pytest.mark.django_db
def test_pagination(api, admin, tenant):
    for i in range(5):
        make_bare_brand(tenant, slug=f"b{i}")
    page = api.get(f"{BASE}?limit=2&page=3", caller=admin).json()["data"]
    assert [b["slug"] for b in page["brands"]] == ["b4"]
    assert page["pagination"] == {
        "current_page": 3, "items_per_page": 2, "total_pages": 3, "total_count": 5,
    }
    assert api.get(f"{BASE}?limit=1001", caller=admin).status_code == 422
    assert api.get(f"{BASE}?page=0", caller=admin).status_code == 422


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_brands(api, admin, tenant):
    make_brand(tenant, slug="first")
    api.get(BASE, caller=admin)  # warm caches (content types, token lookups)
    with CaptureQueriesContext(connection) as one:
        assert api.get(BASE, caller=admin).status_code == 200
    for i in range(6):
        make_brand(tenant, slug=f"more-{i}")
    with CaptureQueriesContext(connection) as seven:
        response = api.get(BASE, caller=admin)
    assert len(response.json()["data"]["brands"]) == 7
    assert len(seven.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_scalars_keeps_omitted_and_nested_in_place(api, admin, tenant, method):
    brand = make_brand(tenant)
    smtp_id, style_id = brand.smtp_config.id, brand.style.id
    response = getattr(api, method)(
        f"{BASE}/{brand.id}",
        {
            "brand": {
                "name": "Renamed",
                "smtp_config_attributes": {"port": 2525},
                "style_attributes": {"primary_color": "#abc"},
            }
        },
        caller=admin,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Erfolgreich bearbeitet"
    data = body["data"]
    assert data["name"] == "Renamed"
    assert data["slug"] == "example-brand"  # omitted: kept
    assert data["smtp_config"]["id"] == smtp_id  # updated in place
    assert data["smtp_config"]["port"] == 2525
    assert data["smtp_config"]["address"] == "smtp.example.com"  # omitted nested key: kept
    assert data["style"]["id"] == style_id
    assert data["style"]["primary_color"] == "#abc"
    assert data["style"]["secondary_color"] == "#222222"
    assert data["mailjet_api_user"]["public_api_key"] == "mj-public"  # omitted part: kept
    assert SmtpConfig.objects.filter(brand_id=brand.id).count() == 1
    stored = SmtpConfig.objects.get(id=smtp_id)
    assert stored.password == SECRETS["password"]  # secret untouched by the partial update


@pytest.mark.django_db
def test_nested_created_on_first_update_then_updated_in_place(api, admin, tenant):
    brand = make_bare_brand(tenant)
    first = api.patch(
        f"{BASE}/{brand.id}", {"brand": {"style_attributes": {"font_family": "Arial"}}},
        caller=admin,
    ).json()["data"]["style"]
    assert first["font_family"] == "Arial"
    second = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"style_attributes": {"id": first["id"], "border_radius": "0.5rem"}}},
        caller=admin,
    ).json()["data"]["style"]
    assert second["id"] == first["id"]
    assert second["font_family"] == "Arial" and second["border_radius"] == "0.5rem"
    assert Style.objects.filter(brand_id=brand.id).count() == 1


@pytest.mark.django_db
def test_null_nested_keeps_and_destroy_removes(api, admin, tenant):
    brand = make_brand(tenant, mail_provider="smtp")
    kept = api.patch(
        f"{BASE}/{brand.id}", {"brand": {"style_attributes": None}}, caller=admin
    ).json()["data"]
    assert kept["style"] is not None
    removed = api.patch(
        f"{BASE}/{brand.id}", {"brand": {"style_attributes": {"_destroy": True}}}, caller=admin
    )
    assert removed.status_code == 200, removed.content
    assert removed.json()["data"]["style"] is None
    assert not Style.objects.filter(brand_id=brand.id).exists()


@pytest.mark.django_db
def test_mask_round_trip_keeps_and_null_clears_secrets(api, admin, tenant):
    brand = make_brand(tenant)
    shown = api.get(f"{BASE}/{brand.id}", caller=admin).json()["data"]
    # Send the masked document back (as a form built from a GET would): nothing changes.
    echo = {
        key: shown[key]
        for key in ("name", "slug", "sms77_api_key", "rcs_api_key", "mail_provider")
    }
    echo["mailjet_api_user_attributes"] = dict(shown["mailjet_api_user"])
    echo["smtp_config_attributes"] = dict(shown["smtp_config"])
    echo["ses_api_user_attributes"] = dict(shown["ses_api_user"])
    response = api.put(f"{BASE}/{brand.id}", {"brand": echo}, caller=admin)
    assert response.status_code == 200, response.content
    brand.refresh_from_db()
    assert brand.sms77_api_key == SECRETS["sms77_api_key"]
    assert brand.rcs_api_key == SECRETS["rcs_api_key"]
    assert MailjetApiUser.objects.get(brand=brand).private_api_key == SECRETS["private_api_key"]
    assert SmtpConfig.objects.get(brand=brand).password == SECRETS["password"]

    cleared = api.patch(
        f"{BASE}/{brand.id}",
        {"brand": {"sms77_api_key": None, "smtp_config_attributes": {"password": None}}},
        caller=admin,
    )
    assert cleared.status_code == 200, cleared.content
    data = cleared.json()["data"]
    assert data["sms77_api_key"] is None
    assert data["rcs_api_key"] == "********"
    assert data["smtp_config"]["password"] is None
    brand.refresh_from_db()
    assert brand.sms77_api_key is None
    assert SmtpConfig.objects.get(brand=brand).password is None

    replaced = api.patch(f"{BASE}/{brand.id}", {"brand": {"sms77_api_key": "new-key"}},
                         caller=admin)
    assert replaced.json()["data"]["sms77_api_key"] == "********"
    brand.refresh_from_db()
    assert brand.sms77_api_key == "new-key"


@pytest.mark.django_db
def test_changing_provider_with_new_credentials_in_one_request(api, admin, tenant):
    brand = make_bare_brand(tenant)
    response = api.patch(
        f"{BASE}/{brand.id}",
        {
            "brand": {
                "mail_provider": "ses",
                "ses_api_user_attributes": {
                    "access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t",
                    "region": "eu-west-1",
                },
            }
        },
        caller=admin,
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["mail_provider"] == "ses"
    assert response.json()["data"]["ses_api_user"]["region"] == "eu-west-1"


@pytest.mark.django_db
def test_delete_answers_the_deleted_brand(api, admin, tenant):
    brand = make_brand(tenant)
    smtp_id = brand.smtp_config.id
    response = api.delete(f"{BASE}/{brand.id}", caller=admin)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "Erfolgreich gelöscht"
    assert body["data"]["id"] == brand.id
    assert body["data"]["slug"] == "example-brand"
    assert body["data"]["smtp_config"]["id"] == smtp_id
    assert body["data"]["smtp_config"]["password"] == "********"
    assert not Brand.objects.filter(id=brand.id).exists()
    assert not SmtpConfig.objects.filter(id=smtp_id).exists()
    assert api.delete(f"{BASE}/{brand.id}", caller=admin).status_code == 404
    assert api.get(f"{BASE}/{brand.id}", caller=admin).status_code == 404


@pytest.mark.django_db
def test_english_messages(api, admin, tenant):
    response = api.post(BASE, minimal_body(), caller=admin, headers={"Accept-Language": "en"})
    assert response.json()["message"] == "Successfully created"
    brand_id = response.json()["data"]["id"]
    updated = api.patch(f"{BASE}/{brand_id}", {"brand": {"name": "x"}}, caller=admin,
                        headers={"Accept-Language": "en"})
    assert updated.json()["message"] == "Successfully updated"
    deleted = api.delete(f"{BASE}/{brand_id}", caller=admin, headers={"Accept-Language": "en"})
    assert deleted.json()["message"] == "Successfully deleted"


@pytest.mark.django_db
def test_same_slug_in_another_tenant_is_fine(api, admin, other_admin):
    assert api.post(BASE, minimal_body("shared"), caller=admin).status_code == 201
    other = api.post("/api/v1/other/admin/brands", minimal_body("shared"), caller=other_admin)
    assert other.status_code == 201


@pytest.mark.django_db
def test_openapi_documents_every_brand_operation(api):
    schema = api.get("/api/openapi.json").json()
    paths = schema["paths"]
    prefix = "/api/v1/{tenant}/admin/brands"
    assert set(paths[prefix]) == {"get", "post"}
    assert set(paths[prefix + "/{id}"]) == {"get", "patch", "put", "delete"}
    for segment in ("mailjet_webhooks", "rcs_webhook", "sms_webhook"):
        assert set(paths[f"{prefix}/{{brand_id}}/{segment}"]) == {"get", "post", "delete"}
    assert set(paths[prefix + "/{brand_id}/ses_setup"]) == {"post"}
    assert set(paths[prefix + "/{brand_id}/smtp_test"]) == {"post"}
    create = paths[prefix]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    body_schema = schema["components"]["schemas"]["BrandWrite"]
    assert body_schema["examples"][0]["brand"]["slug"] == "example-brand"
    brand_out = schema["components"]["schemas"]["BrandOut"]
    assert set(brand_out["examples"][0]) == BRAND_KEYS
    assert set(brand_out["properties"]) == BRAND_KEYS
    assert "502" in paths[prefix + "/{brand_id}/mailjet_webhooks"]["post"]["responses"]
