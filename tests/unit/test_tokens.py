"""API tokens are JWT-shaped, signed, and identified by their key id."""

import jwt

from simrelay.accounts import tokens

SECRET = "unit-test-secret-key-long-enough-for-hs256"


def test_token_is_three_base64url_parts_naming_its_key() -> None:
    token = tokens.issue_token(key_id="k" * 24, account_id="a" * 24, secret_key=SECRET)
    assert token.count(".") == 2
    assert tokens.read_key_id(token, secret_key=SECRET) == "k" * 24


def test_other_secret_tampering_and_garbage_are_refused() -> None:
    token = tokens.issue_token(key_id="k" * 24, account_id="a" * 24, secret_key=SECRET)
    assert tokens.read_key_id(token, secret_key=SECRET + "x") is None
    head, body, sig = token.split(".")
    assert tokens.read_key_id(f"{head}.{body}.{sig[:-2]}AA", secret_key=SECRET) is None
    assert tokens.read_key_id("not-a-token", secret_key=SECRET) is None
    other_algorithm = jwt.encode({"kid": "k" * 24, "jti": "x"}, SECRET * 2, algorithm="HS512")
    assert tokens.read_key_id(other_algorithm, secret_key=SECRET * 2) is None


def test_two_tokens_of_one_key_differ_and_only_the_hash_matches() -> None:
    first = tokens.issue_token(key_id="k" * 24, account_id="a" * 24, secret_key=SECRET)
    second = tokens.issue_token(key_id="k" * 24, account_id="a" * 24, secret_key=SECRET)
    assert first != second
    assert tokens.token_matches(first, tokens.hash_token(first))
    assert not tokens.token_matches(second, tokens.hash_token(first))
