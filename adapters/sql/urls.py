"""Database URLs as SQLAlchemy takes them: the psycopg 3 driver, and libpq's multi-host form."""
from __future__ import annotations

import re

_MULTI_HOST = re.compile(r"(?P<scheme>[a-z0-9+]+)://(?P<auth>[^@/?#]*@)?(?P<hosts>[^/?#]*,[^/?#]*)"
                         r"(?P<rest>[/?#].*)?", re.IGNORECASE)


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver we install), not psycopg2; several
    hosts are written as libpq writes them (see `hosts_as_query`)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return hosts_as_query(url)


def hosts_as_query(url: str) -> str:
    """libpq's multi-host URL, `postgresql+psycopg://u@h1:p1,h2:p2/db?target_session_attrs=read-write`
    (a primary and its standbys: libpq connects to the first that suits), in the form SQLAlchemy
    parses, one `host=h:p` query parameter per host; any other URL unchanged."""
    found = _MULTI_HOST.fullmatch(url)
    if found is None:
        return url
    path, _, query = (found["rest"] or "").partition("?")
    hosts = "&".join(f"host={host.strip()}" for host in found["hosts"].split(",") if host.strip())
    return f"{found['scheme']}://{found['auth'] or ''}{path or '/'}?{hosts}{'&' + query if query else ''}"
