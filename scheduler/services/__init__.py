"""Service layer: load from the database, call the domain, write back — inside the caller's
transaction. Services add and flush; they never commit."""
