"""Read-side selects shared by pages and the API."""
