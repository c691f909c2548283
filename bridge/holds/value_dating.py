"""Value dating: when a payment dated for later settles. Shared by every instruction that
carries a date (pacs.008 `IntrBkSttlmDt`, pain.001 `ReqdExctnDt`)."""
from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo


def value_date_start(value_date: date, timezone: str) -> datetime:
    """The instant a value date begins in the bank's time zone (TOKENBRIDGE_TIMEZONE, an IANA
    name): midnight there, as an aware datetime."""
    return datetime.combine(value_date, time.min, tzinfo=ZoneInfo(timezone))


def settles_later(value_date: date | None, now: datetime, timezone: str) -> datetime | None:
    """When a payment dated `value_date` is to settle, if that is after `now`: the start of the
    date in the bank's time zone. None when it is due already (no date, today, or past): the
    payment settles now. A date in the past is settled now, as banks book late payments."""
    if value_date is None:
        return None
    starts = value_date_start(value_date, timezone)
    return starts if starts > now else None
