import pytest
from django.core.exceptions import ImproperlyConfigured

from brokerage.settings.env import env_bool, env_int, env_list, env_secret, env_str


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False


def test_env_bool_fails_loudly_on_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)


def test_env_int_fails_loudly_on_a_non_integer(monkeypatch):
    monkeypatch.setenv("WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="WORKERS"):
        env_int("WORKERS", 1)


def test_a_secret_can_come_from_a_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("from-the-file\n")
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret_file))

    assert (
        env_secret("SOME_SECRET", development_default="dev", is_development=False)
        == "from-the-file"
    )


def test_a_secret_has_no_default_outside_development(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET"):
        env_secret("SOME_SECRET", development_default="dev", is_development=False)
    assert env_secret("SOME_SECRET", development_default="dev", is_development=True) == "dev"


def test_env_list_and_required_strings(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example ,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.delenv("MISSING", raising=False)
    with pytest.raises(ImproperlyConfigured, match="MISSING"):
        env_str("MISSING")


def test_plain_decimals_never_use_exponent_notation():
    from decimal import Decimal

    from apps.common.decimals import plain

    assert plain(Decimal("100.000000000")) == "100"
    assert plain(Decimal("0.000100")) == "0.0001"
    assert plain(Decimal("230.50")) == "230.5"


def test_statements_are_prepared_unless_the_threshold_is_negative():
    from django.db import connection

    from brokerage.settings.database import connection_options

    assert connection_options(5) == {"server_side_binding": True, "prepare_threshold": 5}
    assert connection_options(-1)["prepare_threshold"] is None  # a pooler that cannot keep them
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
