"""Number inputs bounded by the engine's limit for their setting (``engine.workflows``'
``*_LIMITS`` tables), so a form offers exactly the range its dataclass accepts."""

from engine.workflows import Limit


def bounded_input(column, label: str, limit: Limit, value: float, step=None, **kwargs):
    """``column.number_input`` over ``limit``'s range (an open low end: one ``step`` up)."""
    return column.number_input(label, *limit.bounds(step), value, step, **kwargs)
