"""Identity verification (Yivi/IRMA, OpenID4VP); arrives with the identity-gating work."""
