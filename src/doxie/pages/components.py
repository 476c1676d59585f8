"""The component schema: Pydantic models of every component's props, and the validator.

``content_state`` is Puck's ``Data`` document in its slot form (Puck ≥ 0.19, as bundled):
``{"root": {"props": {...}}, "content": [{"type", "props": {"id", ...}}], "zones": {}}``;
slot props (``Columns.col1..col3``, ``Section.items``) hold lists of components in the same
shape. Legacy ``zones`` are accepted only empty-or-valid (each zone a component list).
Errors carry the path (``content_state.content.0.props.level``) so the editor can point at
the component.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from doxie.core.errors import FieldError, Invalid

MAX_DEPTH = 8
MAX_COMPONENTS = 2000
ShortText = Annotated[str, Field(max_length=2000)]


class _Props(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: Annotated[str, Field(min_length=1, max_length=100)]


class HeadingProps(_Props):
    text: ShortText = ""
    level: Literal[1, 2, 3, 4] = 2


class TextProps(_Props):
    text: Annotated[str, Field(max_length=20000)] = ""


class RichTextProps(_Props):
    html: Annotated[str, Field(max_length=100000)] = ""


class ImageProps(_Props):
    asset_id: Annotated[str, Field(max_length=36)] = ""
    alt: ShortText = ""
    width: Annotated[int, Field(ge=1, le=4000)] | None = None

    @field_validator("width", mode="before")
    @classmethod
    def _blank_width(cls, value: Any) -> Any:
        return None if value == "" else value


class ButtonProps(_Props):
    label: ShortText = ""
    href: Annotated[str, Field(max_length=2000)] = ""
    variant: Literal["primary", "secondary", "outline"] = "primary"


class ColumnsProps(_Props):
    columns: Literal[2, 3] = 2
    col1: list = []
    col2: list = []
    col3: list = []


class SectionProps(_Props):
    background: Literal["none", "light", "dark", "primary", "secondary"] = "none"
    items: list = []


class SpacerProps(_Props):
    size: Literal["small", "medium", "large"] = "medium"


class DividerProps(_Props):
    pass


class PageContentProps(_Props):
    pass


PROPS: dict[str, type[_Props]] = {
    "Heading": HeadingProps,
    "Text": TextProps,
    "RichText": RichTextProps,
    "Image": ImageProps,
    "Button": ButtonProps,
    "Columns": ColumnsProps,
    "Section": SectionProps,
    "Spacer": SpacerProps,
    "Divider": DividerProps,
}
LAYOUT_ONLY = {"PageContent": PageContentProps}
SLOTS = {"Columns": ("col1", "col2", "col3"), "Section": ("items",)}


class RootProps(BaseModel):
    model_config = ConfigDict(extra="allow")
    title: Annotated[str, Field(max_length=200)] = ""


class Node(BaseModel):
    """A validated component: its type, its props model and its slot children."""

    type: str
    props: _Props
    slots: dict[str, list[Node]] = {}


class Document(BaseModel):
    title: str
    content: list[Node]


def _loc(parts: tuple) -> str:
    return ".".join(str(p) for p in parts)


class _Validator:
    def __init__(self, *, layout: bool) -> None:
        self.types = {**PROPS, **(LAYOUT_ONLY if layout else {})}
        self.errors: list[FieldError] = []
        self.count = 0
        self.ids: set[str] = set()

    def fail(self, path: str, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(FieldError(path, message))

    def nodes(self, value: Any, path: str, depth: int) -> list[Node]:
        if not isinstance(value, list):
            self.fail(path, "must be a list of components")
            return []
        if depth > MAX_DEPTH:
            self.fail(path, f"nesting deeper than {MAX_DEPTH}")
            return []
        return [n for i, item in enumerate(value) if (n := self.node(item, f"{path}.{i}", depth))]

    def node(self, item: Any, path: str, depth: int) -> Node | None:
        self.count += 1
        if self.count > MAX_COMPONENTS:
            if self.count == MAX_COMPONENTS + 1:
                self.fail(path, f"more than {MAX_COMPONENTS} components")
            return None
        if not isinstance(item, dict):
            self.fail(path, "must be a component object")
            return None
        kind = item.get("type")
        model = self.types.get(kind) if isinstance(kind, str) else None
        if model is None:
            self.fail(f"{path}.type", f"unknown component type {str(kind)[:50]!r}")
            return None
        props = item.get("props")
        if not isinstance(props, dict):
            self.fail(f"{path}.props", "must be an object")
            return None
        slot_names = SLOTS.get(kind, ())
        plain = {k: v for k, v in props.items() if k not in slot_names}
        try:
            parsed = model.model_validate(plain)
        except ValidationError as exc:
            for error in exc.errors():
                where = _loc(error.get("loc", ())) or "props"
                message = "is required" if error["type"] == "missing" else error["msg"]
                self.fail(f"{path}.props.{where}", message)
            return None
        if parsed.id in self.ids:
            self.fail(f"{path}.props.id", "is used twice")
        self.ids.add(parsed.id)
        slots = {
            name: self.nodes(props.get(name, []), f"{path}.props.{name}", depth + 1)
            for name in slot_names
        }
        return Node(type=kind, props=parsed, slots=slots)


def validate_content_state(state: Any, *, layout: bool = False) -> Document:
    """The parsed document, or ``Invalid`` naming every bad path (at most 50)."""
    base = "content_state"
    if not isinstance(state, dict):
        raise Invalid.one(base, "must be an object")
    v = _Validator(layout=layout)
    root = state.get("root", {"props": {}})
    title = ""
    if not isinstance(root, dict) or not isinstance(root.get("props", {}), dict):
        v.fail(f"{base}.root", "must be an object with props")
    else:
        try:
            title = RootProps.model_validate(root.get("props", {})).title
        except ValidationError:
            v.fail(f"{base}.root.props.title", "must be a string of at most 200 characters")
    content = v.nodes(state.get("content", []), f"{base}.content", 0)
    zones = state.get("zones", {})
    if not isinstance(zones, dict):
        v.fail(f"{base}.zones", "must be an object")
    else:
        for name, items in zones.items():
            v.nodes(items, f"{base}.zones.{name}", 1)
    if layout and sum(1 for _ in _walk(content) if _.type == "PageContent") > 1:
        v.fail(f"{base}.content", "a layout has at most one PageContent")
    if v.errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in v.errors[:3])
        raise Invalid(v.errors, message=f"Validation failed: {summary}")
    return Document(title=title, content=content)


def _walk(nodes: list[Node]):
    for node in nodes:
        yield node
        for children in node.slots.values():
            yield from _walk(children)


def asset_ids(nodes: list[Node]) -> list[str]:
    return sorted(
        {n.props.asset_id for n in _walk(nodes) if n.type == "Image" and n.props.asset_id}
    )


def editor_components(*, layout: bool) -> list[str]:
    return [*PROPS, *(LAYOUT_ONLY if layout else {})]
