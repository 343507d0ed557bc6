"""The walk-in counter: residents who come without an appointment wait in a queue per purpose.

- :mod:`server.walkin.hours` – when a purpose's walk-in counter is open: weekly hours, dated
  exceptions and the Dutch public holidays, across the DST changes (pure);
- :mod:`server.walkin.queue` – tickets, their state machine and the order rule (pure);
- :mod:`server.walkin.store` – the queue in SQL;
- :mod:`server.walkin.counters` – a purpose's counter: its hours and limits, in SQL;
- :mod:`server.walkin.callbacks` – "bel mij terug", the number sealed and deleted;
- :mod:`server.walkin.service` – what the pages, the API and the desk use; telling residents
  their place through the call hub;
- :mod:`server.walkin.metrics`, :mod:`server.walkin.api`, :mod:`server.walkin.setup` – the
  gauges, the queue API and the wiring;
- :mod:`server.walkin.errors` – the exception tree, every one a
  :class:`~server.walkin.errors.WalkinError`.

Nothing is imported here, so the pure modules import without SQLAlchemy.
"""
