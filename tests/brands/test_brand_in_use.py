"""A5: a brand still referenced through ``on_delete=PROTECT`` is not deleted (409 naming the
users). A throw-away model stands in for the other apps' references, so this test does not
depend on their schemas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps import apps
from django.db import connection, models

from doxie.brands.models import Brand, SmtpConfig
from tests.brands.payloads import BASE, make_brand


@pytest.fixture
def campaign_model(db) -> Iterator[type[models.Model]]:
    class Campaign(models.Model):
        name = models.CharField(max_length=50)
        brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")

        class Meta:
            app_label = "brands"
            db_table = "test_brand_campaign"
            verbose_name = "campaign"

        def __str__(self) -> str:
            return self.name

    with connection.schema_editor() as editor:
        editor.create_model(Campaign)
    try:
        yield Campaign
    finally:
        # The table goes with the test's transaction; the model must leave the registry
        # now, or later deletes of brands would look for it.
        del apps.all_models["brands"]["campaign"]
        apps.clear_cache()


@pytest.mark.django_db
def test_brand_in_use_is_409_naming_the_users(api, admin, tenant, campaign_model):
    brand = make_brand(tenant)
    spring = campaign_model.objects.create(name="Spring sale", brand=brand)
    autumn = campaign_model.objects.create(name="Autumn sale", brand=brand)
    response = api.delete(f"{BASE}/{brand.id}", caller=admin)
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["success"] is False and body["data"] is None
    assert body["error"] == (
        f"Brand is still used by: campaign 'Autumn sale' (id {autumn.id}), "
        f"campaign 'Spring sale' (id {spring.id}). Reassign or delete them first."
    )
    assert Brand.objects.filter(id=brand.id).exists()
    assert SmtpConfig.objects.filter(brand_id=brand.id).exists()  # nothing half-deleted

    campaign_model.objects.all().delete()
    assert api.delete(f"{BASE}/{brand.id}", caller=admin).status_code == 200


@pytest.mark.django_db
def test_long_user_lists_are_shortened(api, admin, tenant, campaign_model):
    brand = make_brand(tenant)
    campaign_model.objects.bulk_create(
        campaign_model(name=f"c{i:02d}", brand=brand) for i in range(12)
    )
    error = api.delete(f"{BASE}/{brand.id}", caller=admin).json()["error"]
    assert error.count("campaign '") == 10
    assert "and 2 more" in error
