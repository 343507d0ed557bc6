"""Which wallet a resident verifies with: Yivi (IRMA) or an EU/NL identity wallet
(OpenID4VP). Both are :class:`identity.verifier.Verifier`; the verifier handle names the one
that started a session, so whichever node finishes it asks the same one."""

from __future__ import annotations

from typing import Final

from identity.openid4vp import Flow, OpenID4VPVerifier
from identity.policy import DisclosurePolicy
from identity.verifier import (
    StartedVerification,
    VerificationStatus,
    VerifiedIdentity,
    Verifier,
    VerifierHandle,
)
from server.core.language import N_

YIVI: Final = "yivi"
OPENID4VP: Final = "openid4vp"
#: how the specialist's panel names the wallet that vouched
WALLET_LABELS: Final = {YIVI: "Yivi", OPENID4VP: "NL Wallet / EU-wallet (OpenID4VP)"}


#: what the gate says when a page asks for an app or flow the purpose does not offer
NOT_OFFERED: Final = N_("Deze app kunt u hier niet gebruiken. Kies een andere.")


def wallets_for(
    policy: DisclosurePolicy, yivi: Verifier, openid4vp: OpenID4VPVerifier | None
) -> list[str]:
    """The wallets the page may offer for ``policy``: Yivi always, an EU/NL wallet when the
    verifier is configured and trusts a credential that answers the policy."""
    offered = [yivi.name]
    if openid4vp is not None and openid4vp.can_answer(policy):
        offered.append(OPENID4VP)
    return offered


async def start_wallet(
    policy: DisclosurePolicy,
    wallet: object,
    flow: object,
    *,
    yivi: Verifier,
    openid4vp: OpenID4VPVerifier | None,
) -> StartedVerification | None:
    """Start a session with the chosen wallet; None if this purpose does not offer it."""
    if wallet in (None, yivi.name):
        return await yivi.start(policy)
    if wallet != OPENID4VP or openid4vp is None or not openid4vp.can_answer(policy):
        return None
    flows = {f.value: f for f in Flow}
    chosen = (
        flows.get(flow) if isinstance(flow, str) else Flow.CROSS_DEVICE if flow is None else None
    )
    if chosen is None:
        return None
    started = await openid4vp.start(policy, flow=chosen)
    return StartedVerification(started.handle, {"wallet": OPENID4VP, **started.browser_payload})


def _verifier(
    handle: VerifierHandle, yivi: Verifier, openid4vp: OpenID4VPVerifier | None
) -> Verifier | OpenID4VPVerifier:
    if handle.verifier == OPENID4VP and openid4vp is not None:
        return openid4vp
    return yivi  # Yivi's own result check refuses a handle that is not its own


async def wallet_status(
    handle: VerifierHandle, *, yivi: Verifier, openid4vp: OpenID4VPVerifier | None
) -> VerificationStatus:
    return await _verifier(handle, yivi, openid4vp).status(handle)


async def wallet_result(
    handle: VerifierHandle,
    response_code: str | None,
    *,
    yivi: Verifier,
    openid4vp: OpenID4VPVerifier | None,
) -> VerifiedIdentity:
    """The checked result from the verifier that started ``handle``."""
    if handle.verifier == OPENID4VP and openid4vp is not None:
        return await openid4vp.result(handle, response_code=response_code)
    return await yivi.result(handle)
