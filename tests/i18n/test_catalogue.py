"""The English catalogue is complete, well-formed, compiled and current with the code.

Chinese is the source language (msgid); every locale in LOCALES needs a full translation.
After changing user-visible text run `make translations-extract`, translate the new entries,
then `make translations-compile` and commit messages.pot, the .po and the .mo together.
"""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys

import pytest
from babel.messages.mofile import write_mo

from .catalogue import (
    CJK,
    EXTRACT_KEYWORDS,
    LOCALES,
    POT,
    ROOT,
    mo_path,
    msgid_text,
    placeholders,
    po_path,
    read,
)

GLOSS = re.compile(r"\([^()]*" + CJK.pattern + r"[^()]*\)")


@pytest.fixture(scope="module", params=LOCALES)
def locale(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def catalog(locale):
    return read(po_path(locale), locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """Msgids pybabel finds in the code right now, exactly as `make translations-extract` does."""
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    keywords = [arg for kw in EXTRACT_KEYWORDS for arg in ("-k", kw)]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg"]
        + keywords
        + ["-o", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return {msgid_text(m) for m in read(out) if m.id}


def test_catalogue_files_exist(locale):
    assert POT.is_file()
    assert po_path(locale).is_file()
    assert mo_path(locale).is_file(), "run `make translations-compile` and commit the .mo"


def test_every_message_is_translated(catalog):
    untranslated = [
        msgid_text(m)
        for m in catalog
        if m.id
        and ("fuzzy" in m.flags or not (m.string if isinstance(m.string, str) else all(m.string)))
    ]
    assert not untranslated, f"{len(untranslated)} untranslated or fuzzy: {untranslated[:20]}"


def test_translations_are_not_left_in_chinese(catalog):
    # A msgstr may quote the Chinese term in brackets as a gloss, e.g. "Use first, pay later
    # (先用后转)", but outside brackets it must be English.
    left = []
    for m in catalog:
        if not m.id or not CJK.search(msgid_text(m)):
            continue
        for s in m.string if isinstance(m.string, tuple | list) else (m.string,):
            bare = GLOSS.sub("", s or "")
            if CJK.search(bare) or not re.search(r"[A-Za-z0-9]", bare):
                left.append((msgid_text(m), s))
    assert not left, f"not translated into English: {left}"


def test_placeholders_match(catalog):
    wrong = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        want = placeholders(ids[0])
        # %% only matters where the string is %-formatted; a bare % elsewhere must stay bare.
        if "python-format" not in m.flags:
            want = [p for p in want if p != "%%"]
        for s in strings:
            got = placeholders(s)
            if "python-format" not in m.flags:
                got = [p for p in got if p != "%%"]
            if got != want:
                wrong.append((ids[0], s))
    assert not wrong, wrong


def test_babel_format_checks_pass(catalog):
    problems = [(msgid_text(m), [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, problems


def test_compiled_catalogue_matches_po(catalog, locale):
    """The committed .mo says exactly what the .po says (CI does not compile)."""
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    fresh = gettext.GNUTranslations(buf)
    with mo_path(locale).open("rb") as f:
        committed = gettext.GNUTranslations(f)
    fresh_messages = {k: v for k, v in fresh._catalog.items() if k != ""}
    committed_messages = {k: v for k, v in committed._catalog.items() if k != ""}
    assert committed_messages == fresh_messages, (
        "translations .mo is stale: run `make translations-compile` and commit it"
    )


def test_po_covers_every_string_in_the_code(catalog, extracted):
    known = {msgid_text(m) for m in catalog if m.id}
    missing = sorted(extracted - known)
    assert not missing, (
        f"{len(missing)} new user-visible strings have no entry in the catalogue; run "
        f"`make translations-extract`, translate them, then `make translations-compile`: {missing}"
    )


def test_pot_is_current(extracted):
    template = {msgid_text(m) for m in read(POT) if m.id}
    assert extracted - template == set(), "run `make translations-extract` and commit messages.pot"
    assert template - extracted == set(), "messages.pot lists strings the code no longer uses"
