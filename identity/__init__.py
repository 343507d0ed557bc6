"""Identity verification: disclosure policies, verifiers, verification sessions, the vault.

- :mod:`identity.policy` — what a purpose needs, in verifier-neutral tags
- :mod:`identity.verifier` — the :class:`~identity.verifier.Verifier` interface
- :mod:`identity.yivi`, :mod:`identity.irma`, :mod:`identity.irma_result` — Yivi/IRMA
- :mod:`identity.openid4vp` — OpenID4VP 1.0 for EU and NL wallets (SD-JWT VC and mdoc)
- :mod:`identity.sessions` — our verification ids, bound to room, browser and purpose
- :mod:`identity.vault` — verified values sealed at rest, with key rotation
- :mod:`identity.errors` — the exception tree

This package never imports ``server`` or ``web`` (tests/test_layering.py).
"""
