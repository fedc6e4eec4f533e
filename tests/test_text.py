from refmeter.common.text import clean_digits, clean_text


class TestCleaningWhatPeopleType:
    def test_full_width_digits_and_letters_fold_but_chinese_punctuation_stays(self):
        assert clean_text("　ＥＰＯＮ设备（１号）：城南，56幢 ") == "EPON设备（1号）：城南，56幢"

    def test_numbers_stored_as_floats_or_text_become_digits(self):
        assert clean_digits(1701636729.0) == "1701636729"
        assert clean_digits("1701636729.0") == "1701636729"
        assert clean_digits(" １７０１ ６３６ ７２９ ") == "1701636729"
