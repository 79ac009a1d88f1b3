"""One way to say a size or a rate, for every command and screen: binary units with their IEC
names (1 KiB = 1,024 bytes), one decimal; the same number in the same unit everywhere."""
from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_size(n: int | float | None) -> str:
    """`903000` -> "881.8 KiB"; whole bytes below 1 KiB; "?" when unknown."""
    if n is None:
        return "?"
    n = float(n)
    for unit in _UNITS:
        if abs(n) < 1024 or unit == _UNITS[-1]:
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} {_UNITS[-1]}"  # pragma: no cover - the loop always returns


def format_rate(files: int, seconds: float) -> str:
    """Files per second over the whole transaction, as every screen and command shows it."""
    if seconds <= 0:
        return "—"
    return f"{files / seconds:.0f} files/s"
