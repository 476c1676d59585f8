"""The accepted subset of SurveyJS JSON, as Pydantic models: what a survey may contain.

A survey designed in SurveyJS's tools can be pasted in as long as it uses these question
types and keys; anything else (an unknown type, a misspelt key) is refused with the path
named, because a silently ignored key is a question that behaves differently than its
author saw in the designer. ``extra="forbid"`` everywhere; the element union is
discriminated on ``type``. The JSON Schema of these models is published in
``docs/survey-definition.schema.json`` (``schema_document``).

``visibleIf`` accepts simple conditions only: ``{name} <op> <value>`` with ``=``, ``!=``,
``>``, ``<``, ``>=``, ``<=``, ``contains``, ``notcontains``, or ``{name} empty`` /
``{name} notempty``, joined by ``and`` / ``or`` (``and`` binds tighter; no parentheses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"
_CONDITION = re.compile(
    r"^\s*\{(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,99})\}\s*"
    r"(?:(?P<unary>empty|notempty)|(?P<op>=|==|!=|<>|>=|<=|>|<|contains|notcontains)\s*"
    r"(?P<value>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|true|false))\s*$",
    re.IGNORECASE,
)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    value: str | int | float | bool
    text: str | None = None


ChoiceItem = str | int | float | Choice


def choice_pairs(items: list[ChoiceItem]) -> list[tuple[str, str]]:
    """(value, label) of each choice, the value as the string a form sends back."""
    out = []
    for item in items:
        if isinstance(item, Choice):
            value = as_text(item.value)
            out.append((value, item.text if item.text is not None else value))
        else:
            out.append((as_text(item), as_text(item)))
    return out


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _unique_choices(items: list[ChoiceItem]) -> list[ChoiceItem]:
    values = [v for v, _ in choice_pairs(items)]
    if len(set(values)) != len(values):
        raise ValueError("choice values must be unique")
    return items


class _Element(_Strict):
    name: str = Field(pattern=_NAME)
    visibleIf: str | None = Field(None, max_length=1000)

    @field_validator("visibleIf")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)
        return value


class _Question(_Element):
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=2000)
    isRequired: bool = False

    @property
    def label(self) -> str:
        return self.title or self.name


class Text(_Question):
    type: Literal["text"]
    inputType: Literal["text", "email", "number", "date", "tel", "url"] = "text"
    placeholder: str | None = Field(None, max_length=200)
    maxLength: int | None = Field(None, ge=1, le=10_000)


class Comment(_Question):
    type: Literal["comment"]
    placeholder: str | None = Field(None, max_length=200)
    maxLength: int | None = Field(None, ge=1, le=10_000)
    rows: int | None = Field(None, ge=1, le=50)


class _ChoiceQuestion(_Question):
    choices: list[ChoiceItem] = Field(min_length=1, max_length=200)

    _unique = field_validator("choices")(_unique_choices)


class Radiogroup(_ChoiceQuestion):
    type: Literal["radiogroup"]


class Checkbox(_ChoiceQuestion):
    type: Literal["checkbox"]


class Dropdown(_ChoiceQuestion):
    type: Literal["dropdown"]
    placeholder: str | None = Field(None, max_length=200)


class Ranking(_ChoiceQuestion):
    type: Literal["ranking"]


class Boolean(_Question):
    type: Literal["boolean"]
    labelTrue: str | None = Field(None, max_length=200)
    labelFalse: str | None = Field(None, max_length=200)


class Rating(_Question):
    type: Literal["rating"]
    rateMin: int = Field(1, ge=-100, le=100)
    rateMax: int = Field(5, ge=-100, le=100)
    minRateDescription: str | None = Field(None, max_length=200)
    maxRateDescription: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _range(self) -> Rating:
        if not self.rateMin < self.rateMax <= self.rateMin + 20:
            raise ValueError("rateMax must be above rateMin, at most 20 steps")
        return self

    @property
    def is_nps(self) -> bool:
        return self.rateMin == 0 and self.rateMax == 10


class Matrix(_Question):
    """Single choice per row: the answer is ``{row value: column value}``."""

    type: Literal["matrix"]
    columns: list[ChoiceItem] = Field(min_length=1, max_length=50)
    rows: list[ChoiceItem] = Field(min_length=1, max_length=100)

    _unique = field_validator("columns", "rows")(_unique_choices)


class Html(_Element):
    """Static text between questions; sanitized with nh3 when shown."""

    type: Literal["html"]
    html: str = Field(max_length=20_000)


Element = Annotated[
    Text | Comment | Radiogroup | Checkbox | Dropdown | Boolean | Rating | Ranking | Matrix
    | Html,
    Field(discriminator="type"),
]
Question = Text | Comment | Radiogroup | Checkbox | Dropdown | Boolean | Rating | Ranking | Matrix


class Page(_Strict):
    name: str | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=2000)
    elements: list[Element] = Field(min_length=1, max_length=200)


class SurveyDefinition(_Strict):
    """The survey itself (SurveyJS's top level)."""

    title: str | None = Field(None, max_length=1000)
    description: str | None = Field(None, max_length=2000)
    completedHtml: str | None = Field(None, max_length=20_000)
    pages: list[Page] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _names(self) -> SurveyDefinition:
        names = [e.name for p in self.pages for e in p.elements]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"element name '{name}' appears twice")
            seen.add(name)
        for page in self.pages:
            for element in page.elements:
                if element.visibleIf:
                    for unknown in condition_names(element.visibleIf) - seen:
                        raise ValueError(
                            f"{element.name}.visibleIf refers to unknown question '{unknown}'"
                        )
        return self

    def questions(self) -> list[Question]:
        return [e for p in self.pages for e in p.elements if not isinstance(e, Html)]


class SurveySection(SurveyDefinition):
    """The ``survey:`` key of a survey event in ``apply_config``: the definition plus the
    invitation's lifetime and the optional reminder."""

    valid_for_days: int = Field(14, ge=1, le=365)
    reminder_after_days: int | None = Field(None, ge=1, le=364)

    @model_validator(mode="after")
    def _reminder(self) -> SurveySection:
        if self.reminder_after_days is not None and self.reminder_after_days >= self.valid_for_days:
            raise ValueError("reminder_after_days must be less than valid_for_days")
        return self

    def definition(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", exclude={"valid_for_days", "reminder_after_days"}, exclude_none=True
        )


def problems(raw: Any, where: str) -> list[str]:
    """One line per problem, each naming its path (``events[0].survey.pages[0]...``)."""
    try:
        SurveySection.model_validate(raw)
    except ValidationError as exc:
        out = []
        for error in exc.errors():
            path = "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ())
                if not (isinstance(p, str) and p in _TYPE_TAGS)
            )
            message = error.get("msg", "is invalid")
            if error.get("type") == "extra_forbidden":
                message = "unknown key"
            elif error.get("type") == "union_tag_invalid":
                message = f"unknown question type (accepted: {', '.join(sorted(_TYPE_TAGS))})"
            out.append(f"{where}{path}: {message}")
        return out
    return []


_TYPE_TAGS = frozenset(
    {"text", "comment", "radiogroup", "checkbox", "dropdown", "boolean", "rating", "ranking",
     "matrix", "html"}
)


def load(definition: dict[str, Any]) -> SurveyDefinition:
    """A stored definition (validated when it was applied)."""
    return SurveyDefinition.model_validate(definition)


def schema_document() -> dict[str, Any]:
    """The JSON Schema of the ``survey:`` section, published in the docs."""
    schema = SurveySection.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Doxie survey definition (SurveyJS subset)"
    return schema


# --- visibleIf ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    name: str
    op: str
    value: Any = None


def parse_condition(expression: str) -> list[list[Condition]]:
    """Disjunction of conjunctions; ``ValueError`` names what is not understood."""
    out = []
    for part in _OR.split(expression.strip()):
        group = []
        for atom in _AND.split(part):
            match = _CONDITION.match(atom)
            if match is None:
                raise ValueError(f"visibleIf: cannot understand {atom.strip()!r}")
            if match["unary"]:
                group.append(Condition(match["name"], match["unary"].lower()))
                continue
            op = {"==": "=", "<>": "!="}.get(match["op"], match["op"].lower())
            group.append(Condition(match["name"], op, _literal(match["value"])))
        out.append(group)
    return out


def condition_names(expression: str) -> set[str]:
    return {c.name for group in parse_condition(expression) for c in group}


def _literal(raw: str) -> Any:
    if raw[0] in "'\"":
        return raw[1:-1]
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return float(raw) if "." in raw else int(raw)


def _holds(condition: Condition, answers: dict[str, Any]) -> bool:
    value = answers.get(condition.name)
    empty = value is None or value == "" or value == [] or value == {}
    if condition.op == "empty":
        return empty
    if condition.op == "notempty":
        return not empty
    if empty:
        return condition.op in ("!=", "notcontains")
    if condition.op in ("contains", "notcontains"):
        items = value if isinstance(value, list) else str(value)
        found = as_text(condition.value) in ([as_text(i) for i in items] if isinstance(items, list)
                                           else [items]) or (
            isinstance(items, str) and as_text(condition.value) in items)
        return found if condition.op == "contains" else not found
    if condition.op in ("=", "!="):
        same = as_text(value) == as_text(condition.value)
        return same if condition.op == "=" else not same
    try:
        left, right = float(value), float(condition.value)
    except (TypeError, ValueError):
        return False
    return {">": left > right, "<": left < right, ">=": left >= right,
            "<=": left <= right}[condition.op]


def visible(element: Any, answers: dict[str, Any]) -> bool:
    if not element.visibleIf:
        return True
    return any(all(_holds(c, answers) for c in group)
               for group in parse_condition(element.visibleIf))
