"""A15 against moto in server mode: configuration set, SNS topic/policy/subscription, event
destination — and idempotence."""

from __future__ import annotations

import json

import pytest

from doxie.brands.provider_setup import ses_resource_name
from tests.brands.conftest import PUBLIC_URL
from tests.brands.payloads import BASE, make_bare_brand, make_brand
from tests.fakes.moto_server import ACCESS_KEY, REGION, SECRET_KEY

SES_USER = {"access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY, "region": REGION}


def _ses_brand(tenant, slug="example-brand"):
    return make_brand(tenant, slug=slug, mail_provider="ses", ses_api_user_attributes=SES_USER)


def _aws_state(aws, name):
    sns = aws.client("sns")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    subscriptions = sns.list_subscriptions()["Subscriptions"]
    destinations = aws.client("ses").describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )["EventDestinations"]
    return topics, subscriptions, destinations


@pytest.mark.django_db
def test_setup_creates_everything_and_is_idempotent(api, admin, tenant, aws):
    brand = _ses_brand(tenant)
    url = f"{BASE}/{brand.id}/ses_setup"
    response = api.post(url, caller=admin)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "success": True, "message": "Erfolgreich bearbeitet", "error": None,
        "data": {"brand_id": brand.id, "setup_success": True},
    }
    name = "doxie-acme-example-brand"
    brand.refresh_from_db()
    assert brand.ses_configuration_set == name
    aws.client("sesv2").get_configuration_set(ConfigurationSetName=name)

    topics, subscriptions, destinations = _aws_state(aws, name)
    assert [arn.rsplit(":", 1)[1] for arn in topics] == [name]
    [subscription] = subscriptions
    assert subscription["Protocol"] == "https"
    assert subscription["Endpoint"] == f"{PUBLIC_URL}/hooks/ses/{brand.inbound_token}"
    assert subscription["TopicArn"] == topics[0]
    [destination] = destinations
    assert destination["SNSDestination"]["TopicARN"] == topics[0]
    assert destination["Enabled"] is True
    assert {"send", "delivery", "bounce", "complaint"} <= set(destination["MatchingEventTypes"])
    policy = json.loads(
        aws.client("sns").get_topic_attributes(TopicArn=topics[0])["Attributes"]["Policy"]
    )
    assert policy["Statement"][0]["Principal"] == {"Service": "ses.amazonaws.com"}

    updated_at = brand.updated_at
    again = api.post(url, caller=admin)
    assert again.status_code == 200, again.content
    assert again.json()["data"] == {"brand_id": brand.id, "setup_success": True}
    assert _aws_state(aws, name) == (topics, subscriptions, destinations)
    brand.refresh_from_db()
    assert brand.ses_configuration_set == name and brand.updated_at >= updated_at


@pytest.mark.django_db
def test_missing_credentials_is_422(api, admin, tenant, aws):
    brand = make_bare_brand(tenant)
    response = api.post(f"{BASE}/{brand.id}/ses_setup", caller=admin)
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "ses_api_user"


@pytest.mark.django_db
def test_plain_http_public_url_is_422(api, admin, tenant, aws, settings):
    settings.DOXIE_PUBLIC_URL = "http://127.0.0.1:8000"
    brand = _ses_brand(tenant)
    response = api.post(f"{BASE}/{brand.id}/ses_setup", caller=admin)
    assert response.status_code == 422
    assert "https" in response.json()["error"]
    assert aws.client("sns").list_topics()["Topics"] == []


@pytest.mark.django_db
def test_unreachable_aws_is_503(api, admin, tenant, settings):
    from tests.fakes.smtp_server import free_port

    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    brand = _ses_brand(tenant)
    response = api.post(f"{BASE}/{brand.id}/ses_setup", caller=admin)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["error"].startswith("SES unreachable")
    brand.refresh_from_db()
    assert brand.ses_configuration_set is None


@pytest.mark.django_db
def test_resource_names_fit_ses_limits(tenant):
    short = make_bare_brand(tenant, slug="news")
    assert ses_resource_name(short) == "doxie-acme-news"
    long_a = make_bare_brand(tenant, slug="a" * 60 + "-one")
    long_b = make_bare_brand(tenant, slug="a" * 60 + "-two")
    name_a, name_b = ses_resource_name(long_a), ses_resource_name(long_b)
    assert len(name_a) <= 64 and len(name_b) <= 64
    assert name_a != name_b
    assert all(c.isalnum() or c in "-_" for c in name_a)
