"""Where traces are kept: the ``Store`` protocol, tracking URIs, the SQL store and search.

Nothing here is imported by ``import lanterna``; the SQL layer (SQLAlchemy, Alembic, psycopg)
loads on first use, on the export thread or in the call that reads traces.
"""
