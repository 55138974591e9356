"""Storage: the transaction wrapper and pool type modules see through ``run_db_interaction``.

``synapse.storage.database`` serves ``DatabasePool`` and ``LoggingTransaction`` from here.
"""

from synapse_modhost.storage._transaction import CallbackEntry, DatabasePool, LoggingTransaction

__all__ = ["CallbackEntry", "DatabasePool", "LoggingTransaction"]
