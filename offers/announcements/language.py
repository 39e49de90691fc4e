"""The language a post is written in, and its text in one normal form.

py3langid's model is loaded once per process, on first use, and limited to the languages that
have a vocabulary file, so a short post is never taken for a language the reader cannot read.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from offers.announcements.vocabulary import languages

#: Scripts that settle the language without a model.
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
#: Enough text to tell a language by; the rest of a long post adds nothing but time.
_SAMPLE = 2000


def normalise(text: str) -> str:
    """NFKC: full-width digits and letters as ASCII ("１５，０００" is "15,000"), compatibility
    characters as their plain form, and no-break spaces kept as spaces."""
    return unicodedata.normalize("NFKC", text).replace("\u00a0", " ").replace("\u202f", " ")


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(languages()))
    return identifier


def detect(text: str) -> str:
    """The language code of ``text`` among those with a vocabulary; English when unsure."""
    sample = text[:_SAMPLE]
    if _KANA.search(sample):
        return "ja"
    if _HANGUL.search(sample):
        return "ko"
    if len(_HAN.findall(sample)) >= 4:
        return "zh"
    if not re.search(r"[^\W\d_]{2}", sample):
        return "en"
    code, _score = _identifier().classify(sample)
    return str(code)
