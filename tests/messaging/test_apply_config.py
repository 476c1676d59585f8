"""``doxie apply_config``: the real CLI against the test database (create, idempotent, update
and delete, dry run, validation without writes, consent purposes in the same document)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from doxie.messaging.models import EmailTemplate, RcsTemplate, SmsTemplate
from doxie.processes.models import Event
from tests.helpers import make_tenant, run_doxie
from tests.messaging.conftest import SENDER, make_brand

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = textwrap.dedent(f"""\
    consent_purposes:
      - slug: newsletter
        name: Newsletter
        brand: acme-brand
        doi_email_template:
          sender: {SENDER}
          subject: "Bitte bestätigen Sie Ihre Einwilligung"
          html: "<p><a href='{{{{ confirmation_url }}}}'>Jetzt bestätigen</a></p>"
    events:
      - slug: welcome_email
        kind: mailer
        brand: acme-brand
        parameters: [{{name: email, required: true}}, {{name: first_name}}, phone]
        email_templates:
          - name: Willkommensmail
            sender: {SENDER}
            to: "{{{{ email }}}}"
            subject: "Willkommen {{{{ first_name }}}}"
            html: "<p>Hallo {{{{ first_name }}}}, <a href='https://example.com'>los geht's</a></p>"
        sms_templates:
          - {{name: Willkommenssms, to: "{{{{ phone }}}}", text: "Hallo {{{{ first_name }}}}"}}
      - slug: newsletter
        brand: acme-brand
        required_consent: newsletter
        email_templates:
          - name: Ausgabe
            sender: {SENDER}
            to: "{{{{ email }}}}"
            subject: News
            text: "Neuigkeiten"
            track_links: false
        rcs_templates:
          - name: Karte
            to: "{{{{ phone }}}}"
            sender: acme_agent
            content: {{text: "Hallo {{{{ first_name }}}}", suggestions: [{{reply: {{text: Ja}}}}]}}
""")


@pytest.fixture
def tenant_and_brand():
    tenant = make_tenant("acme")
    return tenant, make_brand(tenant)


def write(tmp_path: Path, text: str, name: str = "doxie.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def snapshot() -> list[tuple]:
    rows: list[tuple] = []
    for model in (Event, EmailTemplate, SmsTemplate, RcsTemplate):
        rows += [(model.__name__, *r) for r in model.objects.order_by("id")
                 .values_list("id", "updated_at")]
    return rows


def test_create_then_idempotent_then_update_and_delete(tenant_and_brand, tmp_path):
    tenant, brand = tenant_and_brand
    path = write(tmp_path, CONFIG)
    first = run_doxie("apply_config", "acme", path)
    assert first.returncode == 0, first.stderr
    assert "consent purpose 'newsletter': created" in first.stdout
    assert "event 'welcome_email': created" in first.stdout
    assert "event 'welcome_email': email template 'Willkommensmail' created" in first.stdout
    welcome = Event.objects.get(slug="welcome_email")
    assert welcome.brand == brand and welcome.kind == "mailer"
    assert welcome.parameters == [{"name": "email", "required": True},
                                  {"name": "first_name", "required": False},
                                  {"name": "phone", "required": False}]
    template = EmailTemplate.objects.get(event=welcome)
    assert (template.sender, template.to, template.track_links) == (SENDER, "{{ email }}", True)
    assert SmsTemplate.objects.get(event=welcome).text == "Hallo {{ first_name }}"
    newsletter = Event.objects.get(slug="newsletter")
    assert newsletter.required_consent_slug == "newsletter"
    assert RcsTemplate.objects.get().content["suggestions"] == [{"reply": {"text": "Ja"}}]
    before = snapshot()

    second = run_doxie("apply_config", "acme", path)
    assert second.returncode == 0 and second.stdout.strip() == "no changes"
    assert snapshot() == before

    changed = "\n".join(
        line for line in CONFIG.replace("subject: News", 'subject: "News {{ first_name }}"')
        .splitlines() if "sms_templates" not in line and "Willkommenssms" not in line)
    third = run_doxie("apply_config", "acme", write(tmp_path, changed, "v2.yaml"))
    assert third.returncode == 0, third.stderr
    lines = third.stdout.strip().splitlines()
    assert lines == [
        "event 'welcome_email': SMS template 'Willkommenssms' deleted",
        "event 'newsletter': email template 'Ausgabe' updated (subject)",
    ]
    assert not SmsTemplate.objects.exists()


def test_dry_run_prints_and_writes_nothing(tenant_and_brand, tmp_path):
    result = run_doxie("apply_config", "acme", write(tmp_path, CONFIG), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would change: event 'welcome_email': created" in result.stdout
    assert "dry run:" in result.stdout
    assert not Event.objects.exists() and not EmailTemplate.objects.exists()


def test_invalid_input_fails_with_one_line_errors_and_writes_nothing(tenant_and_brand,
                                                                      tmp_path):
    bad = textwrap.dedent("""\
        events:
          - slug: welcome_email
            brand: acme-brand
            email_templates:
              - name: Willkommensmail
                sender: boss@elsewhere.example
                to: "{{ email }"
                html: "<p>{% if %}</p>"
                colour: blue
          - slug: other
            brand: ghost-brand
            kind: party
        surprise: true
    """)
    result = run_doxie("apply_config", "acme", write(tmp_path, bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    text = "\n".join(errors)
    assert "unknown section 'surprise'" in text
    assert "unknown key 'colour'" in text
    assert "'subject' is required" in text
    assert "sender 'boss@elsewhere.example' is not one of brand 'acme-brand'" in text
    assert "to: template syntax error" in text and "html: template syntax error" in text
    assert "brand 'ghost-brand' does not exist" in text
    assert "kind must be one of" in text
    assert all("\n" not in e for e in errors)
    assert "nothing was changed" in result.stderr
    assert not Event.objects.exists()


def test_unreadable_input(tenant_and_brand, tmp_path):
    broken = run_doxie("apply_config", "acme", write(tmp_path, "events: [\n  - slug: x\n"))
    assert broken.returncode == 1 and "not valid YAML" in broken.stderr
    assert "Traceback" not in broken.stderr
    missing = run_doxie("apply_config", "acme", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    unknown = run_doxie("apply_config", "nobody", write(tmp_path, CONFIG))
    assert unknown.returncode == 1 and "tenant 'nobody' does not exist" in unknown.stderr
