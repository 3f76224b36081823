#!/usr/bin/env python3
"""Validates a hub-issued JWT with an independent library (PyJWT), the way a 1st-layer API in
Python would: the hub's public keys come from its JWKS, nothing else is shared with the hub.

Usage:
    verify_jwt.py --issuer ISS --audience AUD (--jwks FILE | --jwks-url URL) [TOKEN]

    --jwks FILE       the JWK Set document as JSON; `-` reads it from stdin
    --jwks-url URL    fetch the JWK Set over HTTP (e.g. http://127.0.0.1:PORT/.well-known/jwks.json)
    TOKEN             the compact JWT; read from stdin when absent or `-` (not both on stdin)

Checks the EdDSA signature against the key whose `kid` the token names, `iss`, `aud`, `exp`,
`nbf` and `iat` (PyJWT's own checks, no leeway) and that `exp`, `iat`, `iss`, `aud` and `sub`
are present. On success prints the verified claims as one JSON object and exits 0; on any
failure prints the reason to stderr and exits 1 (2 for usage errors).

Needs `pyjwt` and `cryptography` (./scripts/deps installs both into
${HYPERFORGE_TEST_CACHE:-~/.cache/hyperforge-tests}/pyjwt-venv).
"""

from __future__ import annotations

import argparse
import json
import sys

import jwt  # PyJWT
from jwt import PyJWK, PyJWKClient


def main() -> int:
    parser = argparse.ArgumentParser(description="verify a hub JWT with PyJWT")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--jwks", help="JWK Set JSON file, or - for stdin")
    source.add_argument("--jwks-url", help="JWK Set URL")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("token", nargs="?", default="-")
    args = parser.parse_args()

    if args.jwks == "-" and args.token == "-":
        parser.error("the JWKS and the token cannot both come from stdin")
    token = sys.stdin.read().strip() if args.token == "-" else args.token.strip()

    try:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if header.get("alg") != "EdDSA":
            raise jwt.InvalidAlgorithmError(f"alg {header.get('alg')!r} is not EdDSA")
        if args.jwks_url:
            key = PyJWKClient(args.jwks_url, cache_jwk_set=False).get_signing_key(kid).key
        else:
            text = sys.stdin.read() if args.jwks == "-" else open(args.jwks, encoding="utf-8").read()
            keys = [k for k in json.loads(text).get("keys", []) if k.get("kid") == kid]
            if not keys:
                raise jwt.InvalidKeyError(f"no key {kid!r} in the JWKS")
            key = PyJWK(keys[0]).key
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            issuer=args.issuer,
            audience=args.audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except (jwt.PyJWTError, OSError, ValueError) as error:
        print(f"verify_jwt.py: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
