"""OpenID4VP 1.0: a verifier for identity wallets (EU PID wallets, the NL Wallet).

It implements :class:`identity.verifier.Verifier` beside Yivi and yields the
same :class:`~identity.verifier.VerifiedIdentity`. Modules, protocol logic
free of I/O except :mod:`~identity.openid4vp.fetch`:

- :mod:`~identity.openid4vp.config` — settings, client certificate, rules
- :mod:`~identity.openid4vp.trust` — trust anchors per credential type, chains
- :mod:`~identity.openid4vp.pid` — PID variants: which claims prove which tag
- :mod:`~identity.openid4vp.dcql` — DCQL from a policy; the answer against it
- :mod:`~identity.openid4vp.request_object` — the signed request and its QR link
- :mod:`~identity.openid4vp.response` — the wallet's POST, decrypted
- :mod:`~identity.openid4vp.sd_jwt` — SD-JWT VC presentations
- :mod:`~identity.openid4vp.mdoc` — mdoc presentations, session transcript
- :mod:`~identity.openid4vp.status_list` — Token Status List, cached
- :mod:`~identity.openid4vp.fetch` — the status list fetcher and its SSRF rules
- :mod:`~identity.openid4vp.transactions` — the state machine and its store
- :mod:`~identity.openid4vp.verifier` — all of it composed

``docs/openid4vp.md`` says how to configure it and what each check prevents.
"""

from identity.openid4vp.config import (
    ClientCertificate,
    Flow,
    ResponseMode,
    Rules,
    VerifierSettings,
    anchors_from_pem,
)
from identity.openid4vp.fetch import AiohttpStatusListFetcher, StatusListFetcher
from identity.openid4vp.request_object import MEDIA_TYPE as REQUEST_OBJECT_MEDIA_TYPE
from identity.openid4vp.status_list import StatusListChecker
from identity.openid4vp.transactions import (
    MemoryTransactions,
    Transaction,
    TransactionState,
    TransactionStore,
    transaction_from_data,
    transaction_to_data,
)
from identity.openid4vp.trust import TrustAnchors, certificates_from_pem
from identity.openid4vp.verifier import VERIFIER_NAME, OpenID4VPVerifier, WalletReply

__all__ = [
    "REQUEST_OBJECT_MEDIA_TYPE",
    "VERIFIER_NAME",
    "AiohttpStatusListFetcher",
    "ClientCertificate",
    "Flow",
    "MemoryTransactions",
    "OpenID4VPVerifier",
    "ResponseMode",
    "Rules",
    "StatusListChecker",
    "StatusListFetcher",
    "Transaction",
    "TransactionState",
    "TransactionStore",
    "TrustAnchors",
    "VerifierSettings",
    "WalletReply",
    "anchors_from_pem",
    "certificates_from_pem",
    "transaction_from_data",
    "transaction_to_data",
]
