"""Template rendering rules: sandbox, strict variables, escaping, bounds, links, text parts and
recipient normalisation."""

from __future__ import annotations

import pytest

from doxie.messaging import rendering as r


def test_strict_undefined_and_field_name():
    with pytest.raises(r.RenderError, match="^subject: 'first_name' is undefined$"):
        r.render("Hi {{ first_name }}", {}, what="subject")


def test_html_is_autoescaped_text_is_not():
    ctx = {"name": "<script>x</script>"}
    assert r.render("<p>{{ name }}</p>", ctx, html=True) == "<p>&lt;script&gt;x&lt;/script&gt;</p>"
    assert r.render("{{ name }}", ctx) == "<script>x</script>"


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ 'x' * 100000000 }}",
    "{{ [1] * 10000000 }}",
    "{{ 10 ** 100000 }}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
])
def test_sandbox_refuses_escape_and_exhaustion(source):
    with pytest.raises(r.RenderError):
        r.render(source, {})


def test_syntax_errors_are_one_line():
    error = r.syntax_error("{% if %}")
    assert error.startswith("template syntax error on line 1:") and "\n" not in error
    assert r.syntax_error("{{ ok }}") is None


def test_rewrite_links_only_http_and_one_token_per_url():
    html = (
        "<a href='https://a.example/x?y=1&amp;z=2'>A</a> <a class=b href=\"https://a.example"
        "/x?y=1&z=2\">again</a> <a href=mailto:x@y.de>m</a> <a href='tel:+4930'>t</a> "
        "<a href='#top'>top</a> <a href='[[UNSUB_LINK_DE]]'>u</a> <a href='/relative'>r</a> "
        "<A HREF=http://b.example>B</A>"
    )
    out, links = r.rewrite_links(html, "https://d.test")
    assert sorted(links.values()) == ["http://b.example", "https://a.example/x?y=1&z=2"]
    token_a = next(t for t, u in links.items() if u.startswith("https://a"))
    assert out.count(f'"https://d.test/l/{token_a}"') == 2
    for kept in ("mailto:x@y.de", "tel:+4930", "#top", "[[UNSUB_LINK_DE]]", "/relative"):
        assert kept in out


def test_html_to_text():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<h1>Willkommen &amp; hallo</h1><p>Erste   Zeile<br>zweite</p>"
        "<ul><li>eins</li><li>zwei</li></ul><script>alert(1)</script>"
        "<p><a href='https://x.example/a'>Start</a> <a href='https://x.example/b'>"
        "https://x.example/b</a> <a href='mailto:a@b.de'>Mail</a></p>"
        "<img src='x.png' alt='Logo'></body></html>"
    )
    assert r.html_to_text(html) == (
        "Willkommen & hallo\n\nErste Zeile\nzweite\n\n- eins\n- zwei\n\n"
        "Start (https://x.example/a) https://x.example/b Mail\n\nLogo"
    )


def test_recipients():
    assert r.split_recipients(" a@x.de, b@y.de;\na@x.de ,") == ["a@x.de", "b@y.de"]
    assert r.normalize_email("Max.Muster@Example.ORG") == "max.muster@example.org"
    assert r.normalize_phone("+49 (177) 123-4567") == "+491771234567"
    assert r.normalize_phone("0049 1771234567") == "+491771234567"
    for bad in ("01771234567", "+49", "phone", "+49 177 abc"):
        with pytest.raises(r.InvalidRecipient):
            r.normalize_phone(bad)
    with pytest.raises(r.InvalidRecipient):
        r.normalize_email("not-an-address")
    with pytest.raises(r.InvalidRecipient, match="rendered no address"):
        r.recipients("{{ email }}", {"email": " "}, r.normalize_email)
    with pytest.raises(r.InvalidRecipient, match="at most 1000"):
        r.recipients("{{ all|join(',') }}", {"all": [f"u{i}@x.de" for i in range(1001)]},
                     r.normalize_email)
    assert len(r.recipients("{% for i in range(300) %}u{{ i }}@x.de,{% endfor %}", {},
                            r.normalize_email)) == 300


def test_render_json_renders_every_string():
    content = {"text": "Hi {{ n }}", "suggestions": [{"reply": {"text": "{{ n }}!"}}], "n": 3}
    assert r.render_json(content, {"n": "Max"}) == {
        "text": "Hi Max", "suggestions": [{"reply": {"text": "Max!"}}], "n": 3}
