"""Message.secret_values: encrypted secret link values (see messaging.secret_links)."""

from django.db import migrations

import doxie.core.crypto


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="secret_values",
            field=doxie.core.crypto.EncryptedTextField(blank=True, default="", editable=False),
        ),
    ]
