"""The values with a known shape, checked the same way in forms, services and imports.

Each ``*_problem`` function takes the value as typed (full-width digits and spaces are
folded first) and answers ``None`` when it is right, else the refusal in Chinese. The
``validate_*`` wrappers raise Django's ``ValidationError`` for form fields.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from refmeter.common.text import clean_text


class FieldProblem(str):
    """A refusal that belongs to one field of the form the value came from: a page shows it
    beside that field; everywhere else it is the plain message."""

    field: str

    def __new__(cls, message: object, *, field: str) -> FieldProblem:
        problem = super().__new__(cls, str(message))
        problem.field = field
        return problem


def _folded(value: object) -> str:
    return clean_text(value).replace(" ", "").upper()


# ---------------------------------------------------------------- 居民身份证号码 (GB 11643-1999)

ID_CARD_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # 2^(17-i) mod 11
ID_CARD_CHECK = "10X98765432"  # by the weighted sum mod 11
# The province-level regions (GB/T 2260): the first two digits of the address code.
PROVINCES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
}  # fmt: skip


def id_card_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_CARD_WEIGHTS, strict=True))
    return ID_CARD_CHECK[total % 11]


def id_card_problem(value: object, *, today: dt.date | None = None) -> str | None:
    number = _folded(value)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return _("身份证号码应为 18 位：17 位数字加 1 位校验码（数字或 X）。")
    if number[:2] not in PROVINCES:
        return _("身份证号码的前 6 位地址码不正确。")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return _("身份证号码中的出生日期（第 7–14 位）不是有效日期。")
    if born.year < 1800 or born > (today or dt.date.today()):
        return _("身份证号码中的出生日期（第 7–14 位）不在合理范围内。")
    if id_card_check_character(number[:17]) != number[17]:
        return _("身份证号码的校验码不正确，请核对。")
    return None


# ---------------------------------------------------------------- 统一社会信用代码 (GB 32100-2015)

USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]  # 3^(i-1) mod 31


def uscc_check_character(first17: str) -> str:
    total = sum(
        USCC_CHARACTERS.index(character) * weight
        for character, weight in zip(first17, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARACTERS[(31 - total % 31) % 31]


def uscc_problem(value: object) -> str | None:
    code = _folded(value)
    if len(code) != 18 or any(character not in USCC_CHARACTERS for character in code):
        return _("统一社会信用代码应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z）。")
    if not code[2:8].isdigit():
        return _("统一社会信用代码的第 3–8 位应为行政区划码（6 位数字）。")
    if uscc_check_character(code[:17]) != code[17]:
        return _("统一社会信用代码的校验码不正确，请核对。")
    return None


def registration_number_problem(value: object) -> str | None:
    """A customer's 证件号码: a resident's ID card or an organisation's credit code."""
    if id_card_problem(value) is None or uscc_problem(value) is None:
        return None
    return _("证件号码应为有效的 18 位身份证号码或统一社会信用代码，请核对。")


# ---------------------------------------------------------------- telephone numbers

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:(?:-|转|#|EXT\.?)\d{1,6})?")


def _mobile_digits(value: object) -> str:
    """A mobile number as dialled: +86 / 0086 and the hyphens of 138-0000-0001 left out."""
    number = re.sub(r"^(?:\+86|0086)", "", _folded(value))
    return number.replace("-", "")


def mobile_problem(value: object) -> str | None:
    if MOBILE.fullmatch(_mobile_digits(value)):
        return None
    return _("手机号码应为 11 位，以 13–19 开头，例如 13812345678。")


def phone_problem(value: object) -> str | None:
    """A mobile number or a landline with its area code (0571-87654321, extension allowed)."""
    number = _folded(value)
    if MOBILE.fullmatch(_mobile_digits(number)) or LANDLINE.fullmatch(number):
        return None
    return _("电话号码应为 11 位手机号码，或带区号的固定电话（例如 0575-88123456，可加分机号）。")


# ---------------------------------------------------------------- numbers of the registry


def account_number_problem(value: object) -> str | None:
    number = _folded(value)
    if re.fullmatch(r"\d{10}", number):
        return None
    return _("户号应为 10 位数字，“%(number)s”不是。") % {"number": number}


def access_point_number_problem(value: object) -> str | None:
    number = _folded(value)
    if re.fullmatch(r"\d{17}", number):
        return None
    return _("接入点编号应为 17 位数字，“%(number)s”不是。") % {"number": number}


# ---------------------------------------------------------------- dates and fractions


def date_order_problem(first: dt.date | None, last: dt.date | None) -> str | None:
    if first is not None and last is not None and first > last:
        return _("结束日期不能早于开始日期。")
    return None


def fraction_problem(value: object) -> str | None:
    """A share of something, more than nothing and at most the whole: (0, 1]."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(clean_text(value))
    except (InvalidOperation, ValueError):
        return _("应为大于 0、不超过 1 的小数，例如 0.2。")
    if not number.is_finite() or not Decimal(0) < number <= 1:
        return _("应为大于 0、不超过 1 的小数，例如 0.2。")
    return None


# ---------------------------------------------------------------- for form fields


def _validator(check: Callable[[object], str | None], code: str) -> Callable[[object], None]:
    def validate(value: object) -> None:
        if value in (None, ""):
            return
        problem = check(value)
        if problem:
            raise ValidationError(problem, code=code)

    validate.__name__ = f"validate_{code}"
    return validate


validate_id_card = _validator(id_card_problem, "id_card")
validate_uscc = _validator(uscc_problem, "uscc")
validate_registration_number = _validator(registration_number_problem, "registration_number")
validate_mobile = _validator(mobile_problem, "mobile")
validate_phone = _validator(phone_problem, "phone")
validate_account_number = _validator(account_number_problem, "account_number")
validate_access_point_number = _validator(access_point_number_problem, "access_point_number")
validate_fraction = _validator(fraction_problem, "fraction")


def normalised(value: object) -> str:
    """The value as it is kept: full-width folded, spaces out, letters upper case."""
    return _folded(value)
