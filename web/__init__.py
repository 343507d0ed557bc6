"""Templates and static files of the pages (no Python logic lives here)."""
