from refmeter.common.text import clean_digits, clean_text


class TestCleaningWhatPeopleType:
    def test_full_width_digits_and_letters_fold_but_chinese_punctuation_stays(self):
        assert clean_text("　ＥＰＯＮ设备（１号）：城南，56幢 ") == "EPON设备（1号）：城南，56幢"

    def test_numbers_stored_as_floats_or_text_become_digits(self):
        assert clean_digits(1701636729.0) == "1701636729"
        assert clean_digits("1701636729.0") == "1701636729"
        assert clean_digits(" １７０１ ６３６ ７２９ ") == "1701636729"

    def test_plain_cells_pass_through_as_the_full_cleaning_would_leave_them(self):
        samples = ["1701636729", "EPON 400W", " lead", "trail ", "two  spaces", "tab\there",
                   "line\nend", "", "0", "-5", "1.0", "12.00", "AB12", "ctrl\x1fchar"]  # fmt: skip
        for sample in samples:
            spaced = " ".join(sample.translate({}).split())
            assert clean_text(sample) == spaced, sample
            expected = spaced.replace(" ", "")
            if expected.replace(".", "").isdigit() and expected.endswith(("1.0", "2.00")):
                expected = expected.split(".")[0]
            assert clean_digits(sample) == expected, sample

    def test_chinese_cells_with_nothing_to_fold_pass_through_and_the_others_are_cleaned(self):
        assert clean_text("越城区城南街道 1幢") == "越城区城南街道 1幢"
        assert clean_text("越城区城南街道\u30001幢") == "越城区城南街道 1幢"
        assert clean_text("城南\t\t１幢\n") == "城南 1幢"
        assert clean_text("ＥＰＯＮ－４００．５") == "EPON-400.5"
        assert clean_text(" 城南") == "城南"
