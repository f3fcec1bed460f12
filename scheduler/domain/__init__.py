"""Pure scheduling rules: plain functions over plain values. No Flask, no SQLAlchemy here."""
