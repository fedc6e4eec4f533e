"""Form fields for what users type, with the refusals worded for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from refmeter.common.periods import EARLIEST_DATE, LATEST_DATE

TOO_LONG = _lazy("不能超过 %(limit_value)d 个字符（现有 %(show_value)d 个）。")


class DateInput(forms.DateInput):
    """A date picker that gives back what was typed: a browser empties a date input whose
    value is not a real date (2026-02-30), so such a value is shown in a text input, with
    its error beside it, for the user to correct."""

    input_type = "date"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if isinstance(value, str) and value.strip():
            try:
                dt.date.fromisoformat(value.strip())
            except ValueError:
                context["widget"]["type"] = "text"
        return context


class BusinessDateField(forms.DateField):
    """A date a user names, from EARLIEST_DATE to LATEST_DATE: anything outside is a typing
    error, and calculations a year or a day beyond it would leave the calendar."""

    widget = DateInput
    default_error_messages = {"invalid": _lazy("应为日期，例如 2026-12-01。")}

    def validate(self, value: Any) -> None:
        super().validate(value)
        if isinstance(value, dt.date) and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValidationError(
                _("日期应在 %(first)s 到 %(last)s 之间。")
                % {"first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()},
                code="out_of_range",
            )


def text_field(label: Any, max_length: int, *, required: bool = False) -> forms.CharField:
    """Free text that fits its column, refused beyond it with the count."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={"max_length": TOO_LONG},
    )


def add_problems(form: forms.Form, problems: Iterable[object]) -> None:
    """A service's refusals on the bound form: beside their field when they name one of
    the form's fields (``FieldProblem``), else above the form."""
    for problem in problems:
        field = getattr(problem, "field", None)
        form.add_error(field if field in form.fields else None, str(problem))


def form_problems(form: forms.Form) -> list[str]:
    """Each error of a bound form as ``label：error``."""
    return [
        f"{form.fields[name].label}：{error}" if name in form.fields else str(error)
        for name, errors in form.errors.items()
        for error in errors
    ]
