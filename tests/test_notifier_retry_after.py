"""``Retry-After`` as the notifiers and chat bots read it (webhooks, Messenger, Telegram)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from notifiers.base import retry_after

CASES = [
    ("120", 120.0),
    (" 5 ", 5.0),
    ("1.5", None),  # delta-seconds are whole seconds
    ("0", 0.0),
    ("-3", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date gone by: no wait
    ("soon", None),
    ("", None),
    (None, None),
    (7, 7.0),
    (timedelta(minutes=2), 120.0),
]


@pytest.mark.parametrize(("value", "seconds"), CASES)
def test_retry_after(value: object, seconds: float | None) -> None:
    assert retry_after(value) == seconds  # type: ignore[arg-type]


def test_an_http_date_to_come_is_the_seconds_until_it() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    wait = retry_after(later)
    assert wait is not None and 500 < wait <= 600
