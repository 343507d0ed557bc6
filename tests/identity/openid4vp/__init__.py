"""Tests of identity.openid4vp."""
