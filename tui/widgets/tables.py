"""Small helpers over Textual's DataTable shared by the screens that list rows."""
from __future__ import annotations

from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist


def cursor_row_key(table: DataTable) -> str | None:
    """The key of the row under the table's cursor; None when the table is empty or the
    cursor is on no row."""
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except CellDoesNotExist:
        return None
    return key.value if key is not None else None
