"""Long-term storage of messages in SQL: the schema, the archive tables and their readers."""
