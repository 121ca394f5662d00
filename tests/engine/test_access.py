"""The login allow-list: exact emails (any case), exact domains after the last '@',
look-alikes, missing or unverified emails refused."""

from __future__ import annotations

import pytest

from engine.access import AccessSettingsError, AllowList, parse_allow_list

ALLOWED = parse_allow_list(
    {
        "allowed_emails": ["Boss@Partner.org", "kate@partner.org"],
        "allowed_domains": ["example.com", "@team.io"],
    }
)


@pytest.mark.parametrize(
    "email",
    ["boss@partner.org", "BOSS@PARTNER.ORG", " boss@partner.org ", "a@example.com",
     "Analyst@EXAMPLE.COM", "x@team.io"],
)  # fmt: skip
def test_listed_emails_and_domains_are_allowed(email) -> None:
    assert ALLOWED.allows(email)
    assert ALLOWED.allows(email, verified=True) and ALLOWED.allows(email, "true")


@pytest.mark.parametrize(
    "email",
    [
        "a@evil-example.com",  # a look-alike domain
        "a@example.com.evil.org",  # the allowed domain as a prefix
        "a@sub.example.com",  # a sub-domain is another domain
        "a@example.co",
        "a@xample.com",
        "example.com@evil.org",  # the allowed domain before the last '@'
        "a@example.com@evil.org",
        "boss@partner.org.evil.org",
        "other@partner.org",  # an allowed email's domain is not an allowed domain
        "a@ex\u0430mple.com",  # Cyrillic a
        "\u212aate@partner.org",  # Kelvin sign: lower() folds it to "k" (kate@)
        "weird@name@example.com",  # not one address
        "a b@example.com",
    ],
)
def test_look_alikes_are_refused(email) -> None:
    assert not ALLOWED.allows(email)


@pytest.mark.parametrize("email", [None, "", "   ", "example.com", "@example.com", 42, ["a"]])
def test_no_usable_email_claim_is_refused(email) -> None:
    assert not ALLOWED.allows(email)


def test_an_unverified_email_is_refused_and_an_empty_list_allows_nobody() -> None:
    assert not ALLOWED.allows("a@example.com", verified=False)
    assert not ALLOWED.allows("a@example.com", verified="false")
    assert not AllowList() and not parse_allow_list(None) and not parse_allow_list({})
    assert not parse_allow_list({"redirect_uri": "x"}).allows("a@example.com")


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"allowed_domains": ["*.example.com"]}, "auth.allowed_domains: '*.example.com'"),
        ({"allowed_domains": ["exa mple.com"]}, "not a plain domain name"),
        ({"allowed_domains": ["a@example.com"]}, "not a plain domain name"),
        ({"allowed_emails": ["example.com"]}, "auth.allowed_emails: 'example.com' is not"),
        ({"allowed_emails": [None]}, "not a plain email address"),
        ({"allowed_emails": {"a": 1}}, "must be a list of at most 500"),
        ({"allowed_emails": ["a@b.co"] * 501}, "must be a list of at most 500"),
    ],
)
def test_bad_allow_lists_are_refused_by_name(table, problem) -> None:
    with pytest.raises(AccessSettingsError, match="auth.allowed_") as refused:
        parse_allow_list(table)
    assert problem in str(refused.value)
