"""Small shared pieces for rows."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm.attributes import instance_state


def still_loaded(row: Any) -> bool:
    """Tell whether a row kept for the rest of a request can be used without reading it again.

    False once a commit or rollback expired it (it may have changed or gone since: read it afresh, and a row
    deleted meanwhile then reads as None instead of failing), or when it was deleted or never saved.
    """
    state = inspect(row)
    return not (state.expired or state.transient or state.detached or state.was_deleted)


def utcnow() -> datetime:
    """Return naive UTC now: the database columns are timezone-less and always UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def insert_if_missing(model: type, values: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """INSERT a row unless one with the same unique keys exists (ON CONFLICT DO NOTHING); True if it inserted.

    Does not commit.

    Two requests creating the same row at once (a class launching a new course together) both succeed: the
    second waits for the first and inserts nothing. The caller then reads the row by its keys.
    """
    from ..extensions import db

    statement = dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    # Whether a row came back, not rowcount: PostgreSQL (psycopg) reports -1 for this INSERT, as SQLAlchemy adds
    # RETURNING to it, so "inserted" read False there every time.
    return db.session.execute(statement.returning(*inspect(model).primary_key)).first() is not None


def upsert(model: type, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], columns: Sequence[str]) -> None:
    """INSERT the rows, or UPDATE these columns of the row with the same unique keys (ON CONFLICT DO UPDATE).

    Does not commit. For a row that is written whether or not it exists: two requests writing it at once both
    succeed (the later one's values kept) instead of the second failing on the row the first created. Each key
    at most once in `rows`; give them in one order (sorted), so two such upserts cannot deadlock.
    """
    from ..extensions import db

    insert = dialect_insert(model)
    statement = insert.on_conflict_do_update(index_elements=list(keys),
                                             set_={column: insert.excluded[column] for column in columns})
    db.session.execute(statement, list(rows))


def lock_database_for_writing() -> bool:
    """On SQLite, take the database's write lock now, before reading what this transaction's writes depend on.

    PostgreSQL locks rows (SELECT … FOR UPDATE); SQLite ignores FOR UPDATE, and pysqlite begins a transaction
    only at the first write, so what a request read before writing could be overtaken by another writer's commit.
    BEGIN IMMEDIATE waits (busy_timeout) for the other writer instead. Nothing to do on PostgreSQL, or once this
    transaction has written (it holds the lock already). Returns True on SQLite, where this transaction now
    excludes every other writer, so row locks would add nothing.
    """
    from ..extensions import db

    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def dialect_insert(model: type) -> Any:
    """Return an INSERT for the session's database (PostgreSQL or SQLite), which offers ON CONFLICT clauses."""
    from ..extensions import db

    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - Pathways supports PostgreSQL and SQLite
        raise RuntimeError(f"unsupported database {dialect}")
    return insert(model)


def commit_keeping_rows() -> None:
    """Commit without expiring the session's rows, so the page rendered next does not read them all again.

    Only for a transaction whose rows are known current: what it wrote itself, and rows it read but no other
    request changes meanwhile (the launch, the course). Every later commit expires as usual.
    """
    from ..extensions import db

    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


#: The largest id a row has (the id columns are INTEGER: 2**31 - 1 on PostgreSQL). A longer number in an address, a
#: form or a command names no row of ours, and reached the database as an error: PostgreSQL's "integer out of range",
#: and past 2**63 - 1 SQLite's driver cannot even send it.
LARGEST_ROW_ID = 2**31 - 1


def id_list(ids: Iterable[int]) -> Any:
    """Return a list of row ids for `column.in_(...)`, written into the statement as numbers.

    A class page asks about every student: bound one parameter each, psycopg rewrote the 200 (or 3,000)
    placeholders in Python on every execution (about 1.5 ms a statement for 200, in a page of a few such
    statements); written in, the statement is compiled once as before and only the numbers are added. Only
    for integers (they are checked here), never for text.
    """
    import sqlalchemy as sa

    return sa.bindparam(None, [int(i) for i in ids], type_=sa.Integer, expanding=True, literal_execute=True)


def transient_of(model: type, values: Mapping[str, Any]) -> Any:
    """Return a new object of `model` holding `values` (column keys), made without the ORM's attribute events.

    For a row a Core statement writes, whose object only carries its values on (services/launches.record_launch):
    the constructor sets each attribute through the instrumentation, which records a history nothing reads. The
    object is transient (in no session), as the constructor makes it; attributes set on it later are recorded.
    """
    row = inspect(model).class_manager.new_instance()
    instance_state(row).dict.update(values)
    return row


class RowsAsLoaded:
    """Make a model's objects from the values of a Core statement, as the ORM would have loaded them.

    For a hot read (services/launches.open_launch) whose rows the rest of the request uses as ORM objects (it may
    write them, read their relationships, or ask the session for them again): a Core statement skips the ORM's
    result set-up, which costs as much as the statement itself. `columns` are the model's table columns it loads
    (every column the ORM loads; the deferred ones are left out, and load when read, as after an ORM query); the
    object made from them is persistent in the session, with nothing changed, and the one the session holds
    already under the same key is returned instead (the ORM does the same, without overwriting it).
    """

    def __init__(self, model: type) -> None:
        mapper = inspect(model)
        props = [prop for prop in mapper.column_attrs if not prop.deferred]
        self.mapper = mapper
        self.keys = tuple(prop.key for prop in props)
        self.columns = tuple(prop.columns[0] for prop in props)
        at = {prop.columns[0].key: n for n, prop in enumerate(props)}
        self.primary_key = tuple(at[column.key] for column in mapper.primary_key)
        self._new = mapper.class_manager.new_instance

    def __call__(self, session: Any, values: Sequence[Any], **related: Any) -> Any:
        """Return the object of these values (in `columns`' order), or None when its key is NULL (an outer join's)."""
        ident = tuple(values[n] for n in self.primary_key)
        if ident[0] is None:
            return None
        key = self.mapper.identity_key_from_primary_key(ident)
        held = session.identity_map.get(key)
        if held is not None:
            return held
        row = self._new()
        state = instance_state(row)
        state.dict.update(zip(self.keys, values, strict=True))
        state.dict.update(related)  # many-to-one relationships loaded with it (their objects made first)
        # Set into the object's dict directly, not through its attributes, so nothing is recorded as changed: the
        # object is as the ORM's loading leaves it (no history, nothing to flush) without committing its state.
        state.key = key
        session.add(row)
        return row
