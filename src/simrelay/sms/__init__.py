"""Messages: accept, read, delete and list SMS; their statuses."""
