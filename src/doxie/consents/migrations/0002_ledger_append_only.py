"""The consent ledger is append-only in the database itself, not only in our code.

A row-level trigger rejects every UPDATE and DELETE on the ledger table, whoever issues
it (the ORM, the admin, a psql session). Tampering then needs table-owner rights to disable
the trigger, and even then the hash chain exposes it (``doxie verify_ledger``).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION consents_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consents_ledger_entry is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consents_ledger_append_only
    BEFORE UPDATE OR DELETE ON consents_ledger_entry
    FOR EACH ROW EXECUTE FUNCTION consents_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS consents_ledger_append_only ON consents_ledger_entry;
DROP FUNCTION IF EXISTS consents_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
