"""The municipality's own pages, per tenant, set by its administrator: contact details in
every resident page's footer, a home page, a privacy statement made from what Balie
processes per purpose, and an accessibility statement (docs/municipality.md).

- :mod:`server.municipality.profile` – the pure :class:`TenantProfile`, its checks, its form
  and its stored JSON;
- :mod:`server.municipality.store` – load and save (audited), the statement's facts, and
  :func:`tenant_contact` for messages;
- :mod:`server.municipality.statement` – the statements' words made from data;
- :mod:`server.municipality.pages` and :mod:`server.municipality.admin` – the pages;
- :mod:`server.municipality.errors` – the exception tree.
"""
