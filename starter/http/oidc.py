"""Single sign-on: a JWT from the office's identity provider, verified against the keys
the issuer publishes (its discovery document names the JWKS; PyJWT's PyJWKClient fetches
and caches them). Signature, expiry, issuer and audience must all hold; one claim names
the person's id in the directory."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jwt

# Asymmetric algorithms only: a JWKS publishes public keys, and a token may not choose
# `none` or a shared-secret algorithm keyed with a public key.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class OidcRefused(Exception):
    """The token proves nothing; the message says why."""


class OidcUnavailable(Exception):
    """The identity provider's discovery document or keys cannot be had now."""


class OidcVerifier:
    def __init__(self, issuer: str, audience: str, claim: str = "preferred_username") -> None:
        self.issuer = issuer
        self.audience = audience
        self.claim = claim
        self._jwks: jwt.PyJWKClient | None = None
        self._document: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        """The issuer's discovery document (fetched once): where its keys are, and for the
        pages' sign-in its authorization and token endpoints."""
        async with self._lock:
            if self._document is None:
                url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                try:
                    async with httpx.AsyncClient(timeout=10) as http:
                        answer = await http.get(url)
                        answer.raise_for_status()
                        document = answer.json()
                    if not isinstance(document.get("jwks_uri"), str):
                        raise KeyError("jwks_uri")
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
                    raise OidcUnavailable(f"no discovery document at {url}: {err}") from err
                if document.get("issuer") != self.issuer:
                    raise OidcUnavailable(
                        f"{url} names issuer {document.get('issuer')!r}, not {self.issuer!r}"
                    )
                self._document = document
            return self._document

    async def _keys(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            jwks_uri = (await self.document())["jwks_uri"]
            self._jwks = jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=10)
        return self._jwks

    async def person(self, token: str) -> str:
        """The person the token names, or OidcRefused with the reason."""
        return self.named(await self.claims(token))

    def named(self, claims: dict[str, Any]) -> str:
        person = claims.get(self.claim)
        if not isinstance(person, str) or not person:
            raise OidcRefused(f"token refused: it has no {self.claim} claim")
        return person

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's claims once its signature, expiry, issuer and audience hold."""
        keys = await self._keys()
        try:
            key = await asyncio.to_thread(keys.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as err:
            raise OidcUnavailable(f"the issuer's keys cannot be fetched: {err}") from err
        except jwt.PyJWTError as err:
            raise OidcRefused(f"token refused: {err}") from err
        if key.algorithm_name not in ALGORITHMS:
            raise OidcRefused(f"token refused: algorithm {key.algorithm_name} is not accepted")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
                leeway=30,
            )
        except jwt.PyJWTError as err:
            raise OidcRefused(f"token refused: {err}") from err
        return claims
