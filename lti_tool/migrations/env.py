import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def _orphans(connection):
    """Count SQLite's rows without their parent row, per (table, parent table).

    Counted, not listed by rowid: a batch migration rebuilds a table and may renumber its rows, which would make
    rows broken before it look new.
    """
    from collections import Counter

    return Counter((table, parent) for table, _rowid, parent, _fk in
                   connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table (copy, drop the old one, rename). With foreign keys on, dropping
            # a parent table such as course deletes every row that belongs to it through ON DELETE CASCADE, so a
            # downgrade past a batch change to course emptied the database. Off while migrating (the pragma is
            # ignored inside a transaction, hence the commit), then checked and on again. Rows already without
            # their parent before (an old hand edit) are not the migration's doing: only new ones are reported.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            already = _orphans(connection)
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        try:
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = _orphans(connection) - already
                if broken:
                    # SQLite commits schema changes as they run: the migration is applied; say what it left.
                    raise RuntimeError(f"The migration was applied but left rows whose parent row is missing "
                                       f"({dict(broken)}). Restore the backup taken before it.")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
        at_head = (
            _destination() is not None
            and set(context.get_context().get_current_heads()) == set(context.script.get_heads())
        )
    if at_head:
        ensure_first_signing_key()


def _destination():
    """The revision the command migrates to; None for commands that migrate nothing (`db current`, `db check`).

    Alembic keeps it in the context's options only for upgrade and downgrade: get_revision_argument() raises
    KeyError for the others.
    """
    try:
        return context.get_revision_argument()
    except KeyError:
        return None


def ensure_first_signing_key():
    """After an upgrade to head, give the tool its first signing key if it has none (idempotent).

    Otherwise /lti/jwks stays empty until `pathways keys rotate`, and a platform registered meanwhile fails
    to verify anything the tool signs.
    """
    from lti_tool.services.registry import ensure_tool_key

    ensure_tool_key(current_app.config["SECRET_KEY"])


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
