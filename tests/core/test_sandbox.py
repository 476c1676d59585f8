"""The one tenant-template sandbox: every attack fails with a clean render error *before* the
big value is built (tracemalloc's peak stays far below the attack's size), ordinary
templates keep working, and the time limit holds."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from jinja2 import StrictUndefined
from jinja2.exceptions import UndefinedError

from doxie.core import sandbox

#: Far below every attack's size (20 MB and more), above what a refused attack allocates.
PEAK_LIMIT = 6 * 1024 * 1024

ATTACKS = [
    "{{ 'a'.center(20000000) }}",
    "{{ 'a'.ljust(20000000) }}{{ 'a'.rjust(20000000) }}",
    "{{ 'a'.zfill(20000000) }}",
    "{{ ('\t' * 1000).expandtabs(100000) }}",
    "{{ '%20000000s' % 'a' }}",
    "{{ '%.20000000f' % 1.5 }}",
    "{{ '%*s' % (20000000, 'a') }}",
    "{{ '{:>20000000}'.format('a') }}",
    "{{ '{0:{1}}'.format('a', 20000000) }}",
    "{{ '%20000000s'|format('a') }}",
    "{{ 'x' * 20000000 }}",
    "{{ 20000000 * 'x' }}",
    "{{ [1] * 20000000 }}",
    "{{ range(10**9)|list }}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{{ 'a'|indent(10**8) }}",
    "{{ 'a'|indent(100000000) }}",
    "{{ 'a'|center(100000000) }}",
    "{{ ('x' * 1000).replace('x', 'y' * 100000) }}",
    "{{ ('x' * 1000)|replace('x', 'y' * 100000) }}",
    "{{ ('a' * 100)|join('b' * 10000000) }}",
    "{{ ('a' * 100)|join('b' * 100000) }}",
    "{{ ('b' * 100000).join('a' * 1000) }}",
    "{{ ('a' * 100000)|wordwrap(1, wrapstring='b' * 1000) }}",
    "{{ ('a' * 1000).translate({97: 'b' * 100000}) }}",
    "{{ [1]|batch(1000000000, 0)|list }}",
    "{{ [1]|slice(1000000000)|list }}",
    "{{ 10 ** 100000 }}",
    "{{ ((10 ** 100) ** 100) ** 100 }}",
    "{{ lipsum(10 ** 6) }}",
    # doubling in a loop, through ~, + and list growth
    "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}",
    "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}",
    "{% set l = [1] %}{% for i in range(60) %}{{ l.extend(l) }}{% endfor %}",
    # small values, shared many times, stringified at once
    "{% set l = ['x' * 100000] * 100000 %}{{ l }}",
    "{% set l = ['x' * 100000] * 100000 %}{{ l|join }}",
    "{% set l = ['x' * 100000] * 100000 %}{{ l|string }}",
    "{% set l = ['x' * 100000] * 100000 %}{{ 'a' ~ l }}",
    "{% set l = ['x' * 100000] * 100000 %}{{ '%s' % [l] }}",
    "{% set l = ['x' * 100000] * 100000 %}{{ l|sum(start='') }}",
    # bounded pieces piling up in a captured block / the output
    "{% set x %}{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}{% endset %}",
    "{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}",
    # time: nested loops and exponential macros
    "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
]


@pytest.mark.parametrize("autoescape", [False, True], ids=["text", "html"])
@pytest.mark.parametrize("source", ATTACKS)
def test_attacks_fail_cleanly_before_allocating(source, autoescape):
    env = sandbox.environment(autoescape=autoescape, undefined=StrictUndefined)
    template = env.from_string(source)

    tracemalloc.start()
    try:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the kind is asserted below
            sandbox.render(template, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    # lipsum is not offered at all; everything else is refused by a bound
    assert isinstance(caught.value, sandbox.LimitExceeded | UndefinedError), caught.value
    assert peak < PEAK_LIMIT, f"{source!r} allocated {peak} bytes before failing"


@pytest.mark.parametrize("source, expected", [
    ("{{ 'a'.center(20000000) }}", "center() would build 20000000 characters"),
    ("{{ '%20000000s' % 'a' }}", "'%' formatting would build"),
    ("{{ 'a'|indent(10**8) }}", "the 'indent' filter would build"),
    ("{{ range(10**9)|list }}", "loops exceed 100000 range() items"),
    ("{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% endfor %}{% endfor %}",
     "loops exceed 100000 iterations"),
    ("{% set x %}{% for i in range(1000) %}{{ 'y' * 20000 }}{% endfor %}{% endset %}",
     "the template builds more than 10000000 characters"),
])
def test_refusals_are_explained(source, expected):
    env = sandbox.environment(autoescape=False)
    with pytest.raises(sandbox.LimitExceeded, match=re.escape(expected)):
        sandbox.render(env.from_string(source), {})


def test_output_is_capped_while_collected():
    env = sandbox.environment(autoescape=False)
    template = env.from_string("{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}")
    assert len(sandbox.render(template, {})) == 100_000
    with pytest.raises(sandbox.LimitExceeded, match="output exceeds 50000 characters"):
        sandbox.render(template, {}, max_output=50_000)


def test_time_limit():
    env = sandbox.environment(autoescape=False)
    template = env.from_string("{% for i in range(10) %}{{ i }}{% endfor %}")
    assert sandbox.render(template, {}) == "0123456789"
    with pytest.raises(sandbox.LimitExceeded, match="took longer than 0 s"):
        sandbox.render(template, {}, seconds=0)


def test_bounded_operations_refuse_outside_a_render():
    """Compile-time constant folding must not run a filter unbounded: it is deferred to the
    render, and rendering without ``sandbox.render`` refuses."""
    env = sandbox.environment(autoescape=False)
    template = env.from_string("{{ 'a'|center(100000000) }}")
    with pytest.raises(sandbox.LimitExceeded):
        template.render()


def test_ordinary_templates_still_work():
    env = sandbox.environment(autoescape=False)
    source = (
        "{{ 'a'.center(5) }}|{{ '%3s' % 'a' }}|{{ 'x' * 3 }}|{{ range(3)|list }}|"
        "{{ 'a\nb'|indent(2) }}|{{ ['a', 'b']|join(',') }}|{{ '{:>4}'.format(1) }}|"
        "{% for i in range(3) %}{{ loop.index }}/{{ loop.length }}{% endfor %}|"
        "{{ missing|default('d') }}|{{ users|join(', ', attribute='n') }}|"
        "{{ users|map(attribute='n')|join('+') }}|{{ [1, 2]|sum }}|{{ 'a' ~ 1 ~ 'b' }}|"
        "{% set ns = namespace(n=0) %}{% for u in users %}{% set ns.n = ns.n + 1 %}"
        "{% endfor %}{{ ns.n }}|{{ 'Ab'|upper }}{{ 2 ** 10 }}|{{ '%s-%s' % ('x', 1) }}|"
        "{{ 'abc'.replace('b', 'BB') }}|{{ 'a b c'|wordwrap(2) }}"
    )
    rendered = sandbox.render(env.from_string(source), {"users": [{"n": "A"}, {"n": "B"}]})
    assert rendered == (
        "  a  |  a|xxx|[0, 1, 2]|a\n  b|a,b|   1|1/32/33/3|d|A, B|A+B|3|a1b|2|AB1024|x-1|"
        "aBBc|a\nb\nc"
    )
    html = sandbox.environment(autoescape=True)
    assert sandbox.render(html.from_string("<p>{{ x }}{{ x ~ '<' }}</p>"), {"x": "<b>"}) == (
        "<p>&lt;b&gt;&lt;b&gt;&lt;</p>"
    )


def test_the_sandbox_still_refuses_internals():
    env = sandbox.environment(autoescape=False)
    for source in ("{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}"):
        with pytest.raises(Exception, match="unsafe|undefined"):
            sandbox.render(env.from_string(source), {})
