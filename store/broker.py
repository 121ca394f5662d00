"""The broker mirror: one row per local order mirrored to the broker (``broker_orders``).

The mirror has a table of its own: the broker's ids, statuses, fills and timestamps land
here and never in ``paper_orders`` / ``paper_fills``, which stay the local journal. An
order a pre-trade check refused is "failed" with ``refused_by`` (the check) set: it is
never sent, nor tried again.
"""

from __future__ import annotations

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now

BROKER_ORDER_COLUMNS = (
    "client_order_id", "ticker", "mode", "state", "request_json", "attempts", "reason",
    "broker_order_id", "broker_status", "filled_qty", "filled_avg_price", "submitted_at",
    "filled_at", "broker_updated_at", "updated_utc", "refused_by",
)  # fmt: skip


class BrokerRepository:
    """Table ``broker_orders``. Writes run inside the caller's transaction, or their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, client_order_id: str, **values) -> None:
        """Insert or update the mirror row of ``client_order_id`` with ``values`` (columns
        of ``BROKER_ORDER_COLUMNS``; a column not given keeps its value)."""
        unknown = set(values) - set(BROKER_ORDER_COLUMNS)
        if unknown:
            raise ValueError(f"not columns of broker_orders: {', '.join(sorted(unknown))}")
        values = {**values, "updated_utc": utc_now()}
        names = ["client_order_id", *values]
        with write_transaction(self.db):
            cursor = self.db.execute(
                f"UPDATE broker_orders SET {', '.join(f'{n} = ?' for n in values)} "
                "WHERE client_order_id = ?",
                (*values.values(), client_order_id),
            )
            if cursor.rowcount == 0:
                self.db.execute(
                    f"INSERT INTO broker_orders ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    (client_order_id, *values.values()),
                )

    def orders(self) -> pd.DataFrame:
        """Every mirrored order (``BROKER_ORDER_COLUMNS``), by client order id."""
        rows = self.db.execute(
            f"SELECT {', '.join(BROKER_ORDER_COLUMNS)} FROM broker_orders ORDER BY client_order_id"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(BROKER_ORDER_COLUMNS))
        return frame.astype({"filled_qty": float, "filled_avg_price": float})
