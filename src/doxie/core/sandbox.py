"""The one sandbox for every tenant-authored template (Mailer, DOI, and every kind to come).

Jinja2's ``SandboxedEnvironment`` stops attribute access to Python internals, but not
resource exhaustion: ``{{ 'a'.center(20000000) }}``, ``'%20000000s' % 'a'``, ``'x' * 10**8``,
``indent``/``replace``/``join`` with huge arguments or a loop that doubles a string each build
gigabytes before any output check runs. Why each rule here:

* **Bounded before built.** Every operation that can make a value much larger than its inputs
  (``*``, ``+``, ``%``, ``**``, ``~``, the str methods ``center ljust rjust zfill expandtabs
  replace join translate format format_map``, list/dict/set growth methods, and the filters
  ``center indent wordwrap replace join format batch slice sum list``) computes the size of
  its result from the sizes of its arguments first and refuses when it exceeds
  ``MAX_STRING`` characters / ``MAX_ITEMS`` items. Filters are bounded where they are looked
  up (``environment.filters``), so Jinja's compile-time constant folding is bounded too.
* **A per-render work budget.** Values are bounded one by one, and everything built or
  emitted (including text captured by ``{% set %}`` blocks, macros and loops) is charged to
  one budget, so a loop cannot pile up bounded pieces into an unbounded whole. ``str()`` of
  containers (``{{ list }}``, ``~``, ``%s``) is estimated by walking the container first, so
  a list holding the same large string many times cannot be stringified.
* **Loops and time.** Every ``{% for %}`` iterates through a guard that counts each
  iteration (``MAX_ITERATIONS``), ``range()`` charges its length (``MAX_RANGE_TOTAL``), and
  every call, operator, output chunk and 256th iteration checks a deadline
  (``RENDER_SECONDS``): nested loops and exponential macros end with a clean error,
  deterministically (budgets) or by time.
* **A total output cap** is checked while output is collected, not after.

Callers render with ``render(template, context)`` only: outside it every bounded operation
refuses (there is no budget), so a template cannot be rendered unbounded by mistake. All
refusals raise ``LimitExceeded`` (a ``jinja2.exceptions.SecurityError``) whose message is safe
to show to the tenant. ``core`` imports no domain app: the apps build their environments with
``environment()``.
"""

from __future__ import annotations

import contextvars
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from functools import lru_cache, update_wrapper
from itertools import islice
from typing import Any

from jinja2 import Template, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace

#: Characters of any one string a template builds (and the default output cap's half).
MAX_STRING = 1_000_000
#: Items of any one list / dict / set a template builds.
MAX_ITEMS = 100_000
#: Characters + items built or emitted in one render, loop iterations included.
MAX_WORK = 10_000_000
#: ``range()`` items one render may create in total (nested loops multiply otherwise).
MAX_RANGE_TOTAL = 100_000
#: ``{% for %}`` iterations of one render, all loops together.
MAX_ITERATIONS = 100_000
#: Bits of any integer a template computes (``10 ** 100000`` is refused).
MAX_INT_BITS = 65_536
#: Default cap on one render's output, in characters.
MAX_OUTPUT = 2 * 1024 * 1024
#: Default wall-clock limit of one render.
RENDER_SECONDS = 2.0

_FIELD_OVERHEAD = 32  # slack per format field (signs, exponents, repr quotes)
_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])"
)
_NUMBER = re.compile(r"\d+")


class LimitExceeded(SecurityError):
    """A template would exceed a bound; the message is safe to show to its author."""


@dataclass
class _Budget:
    work: int
    ranges: int
    iterations: int
    deadline: float
    seconds: float


_current: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "doxie_sandbox_budget", default=None
)


def _budget() -> _Budget:
    budget = _current.get()
    if budget is None:  # compile-time constant folding, or a render bypassing render()
        raise LimitExceeded("tenant templates are rendered through doxie.core.sandbox only")
    return budget


def _tick() -> None:
    budget = _budget()
    if time.monotonic() > budget.deadline:
        raise LimitExceeded(f"rendering took longer than {budget.seconds:g} s")


def _charge(amount: int) -> None:
    budget = _budget()
    budget.work -= amount
    if budget.work < 0:
        raise LimitExceeded(f"the template builds more than {MAX_WORK} characters in total")
    if time.monotonic() > budget.deadline:
        raise LimitExceeded(f"rendering took longer than {budget.seconds:g} s")


def _refuse_string(size: int, what: str) -> None:
    if size > MAX_STRING:
        raise LimitExceeded(f"{what} would build {size} characters (at most {MAX_STRING})")


def _refuse_items(size: int, what: str) -> None:
    if size > MAX_ITEMS:
        raise LimitExceeded(f"{what} would build {size} items (at most {MAX_ITEMS})")


def size_of(value: Any) -> int:
    """Estimated length of ``str(value)``, without building it; ``MAX_STRING + 1`` as soon
    as it is known to be larger (containers are walked, shared items counted each time)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool | float) or value is None:
        return 32
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    total, seen, stack = 0, 0, [value]
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_ITEMS or total > MAX_STRING:
            return MAX_STRING + 1
        if isinstance(item, str):
            total += len(item) + 4
        elif isinstance(item, Namespace):
            stack.append(item._Namespace__attrs)  # type: ignore[attr-defined]
            total += 16
        elif isinstance(item, dict):
            if len(item) > MAX_ITEMS:
                return MAX_STRING + 1
            stack.extend(item.keys())
            stack.extend(item.values())
            total += 2
        elif isinstance(item, list | tuple | set | frozenset):
            if len(item) > MAX_ITEMS:
                return MAX_STRING + 1
            stack.extend(item)
            total += 2
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3 + 4
        else:
            total += 64
    return total


def _bounded_list(value: Any, what: str) -> list[Any]:
    """``list(value)``, refusing more than ``MAX_ITEMS`` items before building them."""
    if isinstance(value, Sized):
        _refuse_items(len(value), what)
        if isinstance(value, list):
            return value
    items = list(islice(iter(value), MAX_ITEMS + 1))
    _refuse_items(len(items), what)
    return items


def _checked(result: Any) -> Any:
    """Charge what an operation built; refuse results that slipped past a pre-check."""
    if isinstance(result, str):
        _refuse_string(len(result), "an expression")
        _charge(len(result))
    elif isinstance(result, list | tuple | dict | set | frozenset):
        _refuse_items(len(result), "an expression")
        _charge(len(result))
    else:
        _tick()
    return result


# --- size predictions ----------------------------------------------------------------------


def _percent_size(fmt: str, values: Any) -> int:
    """Size of ``fmt % values`` (printf style)."""
    specs = _PERCENT_SPEC.findall(fmt)
    if any("*" in (width, precision) for width, precision, _ in specs):
        raise LimitExceeded("'*' widths in % formatting are not allowed in templates")
    fields = sum(1 for _, _, kind in specs if kind != "%")
    padding = sum(int(w or 0) + int(p or 0) + _FIELD_OVERHEAD for w, p, _ in specs)
    if isinstance(values, tuple):
        inserted = sum(size_of(v) for v in values)
    elif isinstance(values, dict):
        inserted = fields * max((size_of(v) for v in values.values()), default=0)
    else:
        inserted = fields * size_of(values)
    return len(fmt) + padding + inserted


def _format_size(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """Size of ``fmt.format(*args, **kwargs)``: every field is assumed to insert the largest
    argument, padded to the widths and precisions its spec names."""
    largest = max((size_of(v) for v in (*args, *kwargs.values())), default=0)
    total = 0
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise LimitExceeded(f"invalid format string: {exc}") from None
    for literal, field, spec, _conversion in parsed:
        total += len(literal)
        if field is None:
            continue
        spec = spec or ""
        if "{" in spec:
            raise LimitExceeded("nested format specifications are not allowed in templates")
        total += largest + _FIELD_OVERHEAD + sum(int(n) for n in _NUMBER.findall(spec))
    return total


def _str_method_size(owner: str, name: str, args: tuple[Any, ...]) -> int | None:
    """Predicted length of ``owner.<name>(*args)`` for the methods that can amplify."""
    if name in {"center", "ljust", "rjust", "zfill"} and args and isinstance(args[0], int):
        return max(len(owner), args[0])
    if name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        return len(owner) + owner.count("\t") * max(tab, 0)
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str):
        old, new = args[0], size_of(args[1])
        count = owner.count(old) if old else len(owner) + 1
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        return len(owner) + count * max(0, new - len(old))
    if name == "translate" and args and isinstance(args[0], dict):
        widest = max((size_of(v) for v in args[0].values() if v is not None), default=1)
        return len(owner) * max(1, widest)
    return None


# --- bounded filters -----------------------------------------------------------------------


#: Filters that only rearrange, count or pick: their arguments are not stringified.
_STRUCTURAL_FILTERS = frozenset(
    "length count first last random sort unique min max map select reject selectattr "
    "rejectattr groupby dictsort items attr default d abs int float round bool batch slice "
    "sum list reverse".split()
)


def _filter_precheck(env: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a filter call whose result would be too large; may materialize ``args[0]``."""

    def arg(index: int, key: str, default: Any) -> Any:
        if len(args) > index:
            return args[index]
        return kwargs.get(key, default)

    value = args[0] if args else None
    what = f"the '{name}' filter"
    if name not in _STRUCTURAL_FILTERS and name != "join":
        _refuse_string(size_of(value), what)
    if name == "center":
        width = arg(1, "width", 80)
        _refuse_string(max(size_of(value), width if isinstance(width, int) else 0), what)
    elif name == "indent":
        width = arg(1, "width", 4)
        pad = width if isinstance(width, int) else size_of(width)
        lines = value.count("\n") + 1 if isinstance(value, str) else size_of(value)
        _refuse_string(size_of(value) + lines * max(pad, 0), what)
    elif name == "wordwrap":
        wrap = arg(3, "wrapstring", None)
        n = size_of(value)
        _refuse_string(n + (n + 1) * (size_of(wrap) if wrap is not None else 2), what)
    elif name == "replace":
        old, new = arg(1, "old", ""), arg(2, "new", "")
        if isinstance(value, str) and isinstance(old, str):
            count = value.count(old) if old else len(value) + 1
            _refuse_string(len(value) + count * max(0, size_of(new) - len(old)), what)
    elif name == "format":
        fmt_args = tuple(args[1:])
        _refuse_string(_percent_size(str(value), kwargs or fmt_args), what)
    elif name == "join":
        items = _bounded_list(value, what)
        attribute = arg(2, "attribute", None)
        if attribute is not None:
            items = list(map(make_attrgetter(env, attribute), items))
            args[2:], kwargs["attribute"] = [], None
        separator = size_of(arg(1, "d", ""))
        total = sum(size_of(item) for item in items) + max(0, len(items) - 1) * separator
        _refuse_string(total, what)
        args[0] = items
    elif name in {"batch", "slice"}:
        count = arg(1, "linecount" if name == "batch" else "slices", 1)
        if isinstance(count, int):
            _refuse_items(count, what)
    elif name == "sum":
        items = _bounded_list(value, what)
        if not all(isinstance(i, int | float) for i in items):
            _refuse_string(sum(size_of(i) for i in items) + size_of(arg(2, "start", 0)), what)
        args[0] = items
    elif name == "list":
        args[0] = _bounded_list(value, what)


def _bounded_filter(env: Any, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        head, rest = list(args[:offset]), list(args[offset:])
        _filter_precheck(env, name, rest, kwargs)
        kwargs = {k: v for k, v in kwargs.items() if v is not None or k != "attribute"}
        return _checked(func(*head, *rest, **kwargs))

    return update_wrapper(bounded, func)


# --- the environment -----------------------------------------------------------------------


class _BoundedCodeGenerator(CodeGenerator):
    """Routes every output chunk (also into ``{% set %}`` blocks and macros) through
    ``environment.sandbox_emit`` and every ``~`` through ``environment.sandbox_join``."""

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        return f"environment.sandbox_emit({super()._output_const_repr(group)})"

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        self.write("environment.sandbox_emit(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.sandbox_join({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _budgeted_range(*args: int) -> range:
    """``range`` that charges its length to the current render's range budget."""
    items = range(*args)
    budget = _budget()
    budget.ranges -= len(items)
    if budget.ranges < 0:
        raise LimitExceeded(f"loops exceed {MAX_RANGE_TOTAL} range() items")
    _tick()
    return items


def _guarded(iterable: Any) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.iterations -= 1
        budget.work -= 1
        if budget.iterations < 0:
            raise LimitExceeded(f"loops exceed {MAX_ITERATIONS} iterations")
        if not budget.iterations & 255:  # the clock every 256 iterations: loops stay cheap
            _charge(0)
        yield item


class TenantSandbox(SandboxedEnvironment):
    """``SandboxedEnvironment`` bounding size and time of everything a template does."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "%", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._finalize, **options)
        self.filters = {
            name: _bounded_filter(self, name, func) for name, func in self.filters.items()
        }
        self.globals["range"] = _budgeted_range
        self.globals.pop("lipsum", None)  # lipsum(n=10**9) builds without bound

    # Every {% for %} iterates through sandbox_loop (see _parse).
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            guard = nodes.Call(
                nodes.EnvironmentAttribute("sandbox_loop"), [loop.iter], [], None, None
            )
            loop.iter = guard.set_lineno(loop.iter.lineno or 1).set_environment(self)
        return tree

    def sandbox_loop(self, iterable: Any) -> Iterator[Any]:
        return _guarded(iterable)

    def sandbox_emit(self, chunk: str) -> str:
        _charge(len(chunk))
        return chunk

    def sandbox_join(self, join: Callable[[Any], str], parts: tuple[Any, ...]) -> str:
        total = sum(size_of(part) for part in parts)
        _refuse_string(total, "'~'")
        _charge(total)
        return join(parts)

    @staticmethod
    def _finalize(value: Any) -> Any:
        """Every ``{{ expression }}`` before ``str()``: containers are sized first."""
        if not isinstance(value, str | int | float | Undefined) and value is not None:
            _refuse_string(size_of(value), "an expression's text")
        _tick()
        return value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt: str = value.__self__
        mapping = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if mapping and len(args) == 1 and isinstance(args[0], dict):
                _refuse_string(_format_size(fmt, (), args[0]), "format_map()")
            else:
                _refuse_string(_format_size(fmt, args, kwargs), "format()")
            return _checked(wrapper(*args, **kwargs))

        return update_wrapper(bounded, wrapper)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and max(1, abs(left).bit_length()) * right > MAX_INT_BITS:
                raise LimitExceeded(f"the power has more than {MAX_INT_BITS} bits")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(count, int) and not isinstance(count, bool):
                    if isinstance(seq, str):
                        _refuse_string(len(seq) * count, "'*'")
                    elif isinstance(seq, list | tuple):
                        _refuse_items(len(seq) * count, "'*'")
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise LimitExceeded("the product is too large")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                _refuse_string(len(left) + len(right), "'+'")
            elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
                _refuse_items(len(left) + len(right), "'+'")
        elif operator == "%" and isinstance(left, str):
            _refuse_string(_percent_size(left, right), "'%' formatting")
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        owner, name = getattr(__obj, "__self__", None), getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            if name == "join" and len(args) == 1:
                items = _bounded_list(args[0], "join()")
                total = sum(size_of(i) for i in items) + max(0, len(items) - 1) * len(owner)
                _refuse_string(total, "join()")
                args = (items,)
            elif (size := _str_method_size(owner, name, args)) is not None:
                _refuse_string(size, f"{name}()")
        elif isinstance(owner, list | dict | set) and name in {
            "append", "extend", "insert", "update", "add", "setdefault",
        }:
            grow = 1
            if name in {"extend", "update"} and args:
                grow = len(args[0]) if isinstance(args[0], Sized) else MAX_ITEMS + 1
            _refuse_items(len(owner) + grow, f"{name}()")
            _charge(grow)
        return _checked(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)


@lru_cache(maxsize=8)
def environment(*, autoescape: bool, undefined: type[Undefined] = Undefined) -> TenantSandbox:
    """The shared sandbox for one escaping mode / undefined policy."""
    return TenantSandbox(
        autoescape=autoescape, undefined=undefined, keep_trailing_newline=True
    )


def render(
    template: Template, context: dict[str, Any], *, max_output: int = MAX_OUTPUT,
    seconds: float = RENDER_SECONDS,
) -> str:
    """Render within every bound; raises ``LimitExceeded`` (or the template's own error)."""
    token = _current.set(_Budget(
        work=MAX_WORK, ranges=MAX_RANGE_TOTAL, iterations=MAX_ITERATIONS,
        deadline=time.monotonic() + seconds, seconds=seconds,
    ))
    try:
        parts: list[str] = []
        total = 0
        for chunk in template.generate(context):
            total += len(chunk)
            if total > max_output:
                raise LimitExceeded(f"rendered output exceeds {max_output} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _current.reset(token)
