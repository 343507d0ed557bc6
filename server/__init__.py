"""The aiohttp application that composes signalling, identity and the web pages."""
