"""Sign-in rules as plain values: who the claims name, who the allow-list admits, whose key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

from chatapp.settings import AppConfig
from chatapp.signin import (
    AllowList,
    sign_in_providers,
    user_from_claims,
    verified_email,
)

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s" * 32,
    "client_id": "app",
    "client_secret": "secret",
    "server_metadata_url": "https://id.example.com/.well-known/openid-configuration",
}


def test_a_verified_email_in_any_case_is_the_users_id():
    user = user_from_claims(
        {
            "iss": "https://id.example.com",
            "sub": "123",
            "email": "Ann.Archer@Example.COM",
            "email_verified": True,
            "name": "Ann Archer",
        }
    )
    assert user.id == "ann.archer@example.com"
    assert user.signed_in and user.name == "Ann Archer" and user.label == "Ann Archer"


def test_an_unverified_email_never_becomes_the_id_issuer_and_subject_do():
    claims = {"iss": "https://id.example.com", "sub": "123", "email": "boss@example.com"}
    assert user_from_claims(claims).id == "https://id.example.com|123"
    assert user_from_claims({**claims, "email_verified": False}).id == "https://id.example.com|123"
    assert verified_email({**claims, "email_verified": "false"}) is None


def test_a_verified_flag_sent_as_text_counts():
    assert verified_email({"email": "A@b.org", "email_verified": "true"}) == "a@b.org"


def test_claims_without_email_or_subject_are_refused():
    with pytest.raises(ValueError):
        user_from_claims({"iss": "https://id.example.com", "email": "x@y.z"})


def test_the_allow_list_admits_listed_addresses_and_whole_domains_only():
    allow = AllowList.parse("Ann@Example.com, @team.example.org  ops.example.net")
    assert allow.admits("ann@example.com")
    assert allow.admits("someone@team.example.org") and allow.admits("x@ops.example.net")
    assert not allow.admits("bob@example.com")
    assert not allow.admits("x@sub.team.example.org")
    assert not allow.admits("x@evilteam.example.org")
    assert not allow.admits(None)


def test_an_empty_allow_list_admits_everyone_signed_in():
    assert not AllowList.parse("").restricts
    assert AllowList.parse(None).admits("anyone@anywhere.net")
    assert AllowList.parse([]).admits(None)


def test_the_allow_list_reads_a_toml_list_from_the_secrets():
    config = AppConfig.load(
        {"auth": AUTH, "BASETEN_CHAT_ALLOWED_USERS": ["a@x.com", "y.org"]}, environ={}
    )
    assert config.allowed_users == AllowList(frozenset({"a@x.com"}), frozenset({"y.org"}))


def test_providers_are_the_default_one_and_each_named_table():
    assert sign_in_providers(AUTH) == ["default"]
    named = {
        "redirect_uri": "x",
        "cookie_secret": "y",
        "google": {"client_id": "g", "server_metadata_url": "u"},
        "microsoft": {"client_id": "m", "server_metadata_url": "u"},
        "client_kwargs": {"prompt": "login"},
    }
    assert sign_in_providers(named) == ["google", "microsoft"]
    assert sign_in_providers({"redirect_uri": "x", "cookie_secret": "y"}) == []


def test_without_auth_the_server_key_is_used_as_before():
    config = AppConfig.load({}, environ={"BASETEN_API_KEY": "k-env"})
    assert not config.sign_in and config.api_key == "k-env"
    assert config.api_key_source == "environment"


def test_with_sign_in_the_server_key_is_withheld_unless_sharing_is_switched_on():
    env = {"BASETEN_API_KEY": "k-env"}
    withheld = AppConfig.load({"auth": AUTH}, environ=env)
    assert withheld.sign_in and withheld.withholds_server_key
    assert withheld.api_key is None and withheld.api_key_source == "none"
    shared = AppConfig.load({"auth": AUTH}, environ={**env, "BASETEN_CHAT_SHARE_SERVER_KEY": "1"})
    assert not shared.withholds_server_key
    assert shared.api_key == "k-env" and shared.api_key_source == "environment"
    from_secrets = AppConfig.load(
        {"auth": AUTH, "BASETEN_API_KEY": "k-sec", "BASETEN_CHAT_SHARE_SERVER_KEY": True},
        environ={},
    )
    assert from_secrets.api_key == "k-sec"


def _readme_sign_in_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Sign-in", 1)[1]
    return section.split("```toml\n", 1)[1].split("```", 1)[0]


def _uncommented_secrets_example() -> str:
    path = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml.example"
    lines = path.read_text(encoding="utf-8").splitlines()
    settings = re.compile(r"^# (\[auth\]|[A-Za-z_]+ = )")
    return "\n".join(line[2:] if settings.match(line) else line for line in lines)


@pytest.mark.parametrize("source", ["README", "secrets.toml.example"])
def test_the_documented_sign_in_example_switches_sign_in_on_with_one_provider(source):
    text = _readme_sign_in_example() if source == "README" else _uncommented_secrets_example()
    secrets = tomllib.loads(text)
    config = AppConfig.load(secrets, environ={})
    assert config.sign_in and config.sign_in_providers == ("default",)
    assert secrets["auth"]["redirect_uri"] == "http://localhost:8501/oauth2callback"
    assert {"cookie_secret", "client_id", "client_secret"} <= set(secrets["auth"])
    assert config.allowed_users.admits("ann@example.com")
    assert not config.allowed_users.admits("eve@elsewhere.net")
