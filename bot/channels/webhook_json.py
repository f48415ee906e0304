"""Reading a provider's webhook JSON, where any field may be missing or of another type than documented."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional


def as_dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def moment(seconds: Any, scale: float = 1.0) -> Optional[dt.datetime]:
    """A Unix time (``scale`` 1000: milliseconds) as an aware UTC moment; None if it is not one."""
    try:
        return dt.datetime.fromtimestamp(float(seconds) / scale, dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
