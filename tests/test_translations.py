"""Every user-facing string has its English translation, and the compiled catalog is current."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

import refmeter

PACKAGE = Path(refmeter.__file__).parent
CATALOG = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"

needs_gettext = pytest.mark.skipif(
    shutil.which("msgfmt") is None or shutil.which("xgettext") is None,
    reason="GNU gettext (msgfmt, xgettext) is not installed",
)


def untranslated(po_text: str) -> list[str]:
    """msgids whose msgstr is empty or marked fuzzy (a small .po reader, enough for this)."""
    missing = []
    for block in po_text.split("\n\n"):
        lines = block.strip().splitlines()
        if not any(line.startswith("msgid ") for line in lines):
            continue
        text = "\n".join(line for line in lines if not line.startswith("#"))
        msgid = "".join(re.findall(r'"(.*)"', text.split("msgstr")[0].split("msgid_plural")[0]))
        if not msgid:
            continue  # the header
        if any(line.startswith("#,") and "fuzzy" in line for line in lines):
            missing.append(msgid)
            continue
        strings = re.split(r"\nmsgstr(?:\[\d\])? ", text)[1:]
        if any("".join(re.findall(r'"(.*)"', value)) == "" for value in strings):
            missing.append(msgid)
    return missing


class TestEnglishCatalog:
    def test_the_committed_catalog_translates_everything(self):
        assert untranslated(CATALOG.read_text(encoding="utf-8")) == []

    @needs_gettext
    def test_no_string_in_the_code_is_missing_from_the_catalog(self, tmp_path, monkeypatch):
        copy = tmp_path / "refmeter"
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        monkeypatch.chdir(copy)

        call_command("makemessages", locale=["en"], verbosity=0, no_obsolete=True)

        fresh = (copy / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
        assert untranslated(fresh) == []

    @needs_gettext
    def test_the_compiled_catalog_matches_the_source(self, tmp_path):
        compiled = tmp_path / "django.mo"

        subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOG)], check=True)

        assert compiled.read_bytes() == CATALOG.with_suffix(".mo").read_bytes()
