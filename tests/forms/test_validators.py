"""The values with a known shape: checked by the standards' own rules, in Chinese."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError

from refmeter.common import validators
from refmeter.demo.generator.city import _credit_code
from refmeter.registry.models import Customer
from refmeter.registry.services import UnableToCreateCustomer, customer_create

USCC_SET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_card_with_check(first17: str) -> str:
    """GB 11643-1999: weights 2^(17-i) mod 11; check = (12 - sum mod 11) mod 11, 10 is X."""
    total = sum(int(digit) * (2 ** (17 - i) % 11) for i, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return first17 + ("X" if value == 10 else str(value))


def uscc_with_check(first17: str) -> str:
    """GB 32100-2015: weights 3^(i-1) mod 31; check = 31 - sum mod 31 (31 is 0)."""
    total = sum(USCC_SET.index(ch) * (3**i % 31) for i, ch in enumerate(first17))
    return first17 + USCC_SET[(31 - total % 31) % 31]


class TestIdCards:
    @pytest.mark.parametrize(
        "number",
        [
            "11010519491231002X",  # the example of GB 11643-1999
            "440524188001010014",  # the standard's other example
            id_card_with_check("33060219850312402"),
            id_card_with_check("33010220000229001"),  # 29 February of a leap year
            "11010519491231002x",  # a lower-case x as typed
            "１１０１０５１９４９１２３１００２Ｘ",  # full-width as pasted
        ],
    )
    def test_valid_numbers_pass(self, number):
        assert validators.id_card_problem(number) is None

    @pytest.mark.parametrize(
        ("number", "message"),
        [
            ("110105194912310021", "身份证号码的校验码不正确，请核对。"),
            ("11010519491231002", "身份证号码应为 18 位：17 位数字加 1 位校验码（数字或 X）。"),
            ("1101051949123100XX", "身份证号码应为 18 位：17 位数字加 1 位校验码（数字或 X）。"),
            (id_card_with_check("99010519491231002"), "身份证号码的前 6 位地址码不正确。"),
            (id_card_with_check("33010219990229001"),
             "身份证号码中的出生日期（第 7–14 位）不是有效日期。"),
            (id_card_with_check("33010230000101001"),
             "身份证号码中的出生日期（第 7–14 位）不在合理范围内。"),
        ],
    )  # fmt: skip
    def test_invalid_numbers_say_what_is_wrong(self, number, message):
        assert validators.id_card_problem(number) == message

    def test_the_check_character_is_the_standards(self):
        assert validators.id_card_check_character("11010519491231002") == "X"
        assert validators.id_card_check_character("44052418800101001") == "4"


class TestCreditCodes:
    @pytest.mark.parametrize(
        "code",
        [
            "91350100M000100Y43",  # the example of GB 32100-2015
            uscc_with_check("91330600MA2BCDE1X"),
            uscc_with_check("12100000400000624"),
            "91350100m000100y43",
        ],
    )
    def test_valid_codes_pass(self, code):
        assert validators.uscc_problem(code) is None

    @pytest.mark.parametrize(
        ("code", "message"),
        [
            ("91350100M000100Y44", "统一社会信用代码的校验码不正确，请核对。"),
            ("91350100M000100YI3",
             "统一社会信用代码应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z）。"),
            ("91350100M000100Y4", "统一社会信用代码应为 18 位，由数字和大写字母组成（不含 I、O、S、V、Z）。"),
            (uscc_with_check("9135A100M000100Y4"), "统一社会信用代码的第 3–8 位应为行政区划码（6 位数字）。"),
        ],
    )  # fmt: skip
    def test_invalid_codes_say_what_is_wrong(self, code, message):
        assert validators.uscc_problem(code) == message

    def test_the_demo_city_draws_valid_codes(self):
        for drawn in ("913306001234567890", "913306009999999999", "913306000000000000"):
            code = _credit_code(drawn)
            assert (code[:17], validators.uscc_problem(code)) == (drawn[:17], None)


class TestRegistrationNumbers:
    def test_a_customer_may_be_a_resident_or_an_organisation(self):
        assert validators.registration_number_problem("11010519491231002X") is None
        assert validators.registration_number_problem("91350100M000100Y43") is None
        assert validators.registration_number_problem("91350100M000100Y44") == (
            "证件号码应为有效的 18 位身份证号码或统一社会信用代码，请核对。"
        )

    def test_a_customer_with_a_wrong_number_is_not_created(self, city):
        with pytest.raises(UnableToCreateCustomer) as refused:
            customer_create(
                actor=city.south_admin, unit=city.south, name="某公司",
                created_date=dt.date(2026, 1, 1), now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                registration_number="913306001234567890", sms_number="12345678901",
            )  # fmt: skip

        assert refused.value.problems == [
            "证件号码：证件号码应为有效的 18 位身份证号码或统一社会信用代码，请核对。",
            "短信号码：手机号码应为 11 位，以 13–19 开头，例如 13812345678。",
        ]
        assert not Customer.objects.filter(name="某公司").exists()


class TestPhones:
    @pytest.mark.parametrize(
        "number",
        ["13812345678", "19912345678", "+86 138-0000-0001", "0575-88123456", "057588123456",
         "010-12345678", "0571-8765432", "0575-88123456-801", "0575-88123456转801"],
    )  # fmt: skip
    def test_valid_numbers_pass(self, number):
        assert validators.phone_problem(number) is None

    @pytest.mark.parametrize(
        "number", ["12812345678", "1381234567", "138123456789", "88123456", "575-88123456",
                   "0575-881234", "abc"],
    )  # fmt: skip
    def test_invalid_numbers_are_refused(self, number):
        assert validators.phone_problem(number) == (
            "电话号码应为 11 位手机号码，或带区号的固定电话（例如 0575-88123456，可加分机号）。"
        )

    def test_an_sms_number_must_be_a_mobile(self):
        assert validators.mobile_problem("13705750001") is None
        assert validators.mobile_problem("0575-88123456") == (
            "手机号码应为 11 位，以 13–19 开头，例如 13812345678。"
        )


class TestRegistryNumbersDatesAndFractions:
    def test_account_and_access_point_numbers(self):
        assert validators.account_number_problem("1702017329") is None
        assert validators.account_number_problem("170201732") == (
            "户号应为 10 位数字，“170201732”不是。"
        )
        assert validators.access_point_number_problem("33503000009083788") is None
        assert validators.access_point_number_problem("3350300000908378A") == (
            "接入点编号应为 17 位数字，“3350300000908378A”不是。"
        )

    def test_dates_in_order(self):
        assert validators.date_order_problem(dt.date(2026, 1, 1), dt.date(2026, 1, 1)) is None
        assert validators.date_order_problem(dt.date(2026, 1, 2), dt.date(2026, 1, 1)) == (
            "结束日期不能早于开始日期。"
        )

    @pytest.mark.parametrize("value", ["1", "0.2", Decimal("0.001")])
    def test_fractions_in_zero_to_one(self, value):
        assert validators.fraction_problem(value) is None

    @pytest.mark.parametrize("value", ["0", "-0.1", "1.01", "abc", "NaN", "Infinity", ""])
    def test_fractions_outside_are_refused(self, value):
        assert validators.fraction_problem(value) == "应为大于 0、不超过 1 的小数，例如 0.2。"

    def test_a_form_field_with_a_validator_refuses_in_chinese_and_allows_empty(self):
        class PhoneForm(forms.Form):
            phone = forms.CharField(required=False, validators=[validators.validate_phone])

        assert PhoneForm({"phone": ""}).is_valid()
        assert PhoneForm({"phone": "123"}).errors == {
            "phone": [
                "电话号码应为 11 位手机号码，或带区号的固定电话（例如 0575-88123456，可加分机号）。"
            ]
        }
        with pytest.raises(ValidationError):
            validators.validate_id_card("110105194912310021")
