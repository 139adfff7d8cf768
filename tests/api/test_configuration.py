"""Configuration mistakes are ClipdropErrors; an empty key means the local engine; offline
previews never run out."""

from __future__ import annotations

import warnings

import pytest

from clipdrop_widgets import (
    Client,
    ClipdropError,
    ClipdropNotice,
    ConfigurationError,
    ConfigurationTypeError,
)
from clipdrop_widgets.api import constants


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch):
    monkeypatch.delenv("CLIPDROP_API_KEY", raising=False)
    monkeypatch.delenv("CLIPDROP_API_URL", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipdropNotice)
        yield


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"api_key": "sk a b"}, "api_key contains spaces"),
    ({"budget": -1}, "budget must be 0 or more"),
    ({"timeout": None}, "timeout must be set"),
    ({"max_retries": -1}, "max_retries must be 0 or more"),
    ({"requests_per_minute": 0}, "requests_per_minute must be positive"),
])
def test_a_bad_setting_is_a_clipdrop_error_and_still_a_value_error(kwargs, words):
    with pytest.raises(ConfigurationError, match=words) as caught:
        Client(**kwargs)
    assert isinstance(caught.value, ClipdropError)
    assert isinstance(caught.value, ValueError)  # code written for the built-in still works
    assert "sk a b" not in str(caught.value)     # a malformed key is never echoed


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"api_key": 12345}, "api_key must be a string, not int"),
    ({"budget": "5"}, "budget must be a number, not str"),
    ({"max_retries": "2"}, "max_retries must be a number, not str"),
    ({"requests_per_minute": [60]}, "requests_per_minute must be a number, not list"),
])
def test_a_setting_of_the_wrong_type_is_a_clipdrop_error_and_a_type_error(kwargs, words):
    with pytest.raises(ConfigurationTypeError, match=words) as caught:
        Client(**kwargs)
    assert isinstance(caught.value, ClipdropError) and isinstance(caught.value, TypeError)
    assert isinstance(caught.value, ConfigurationError)


def test_an_unknown_operation_is_a_configuration_error_naming_the_known_ones():
    client = Client()
    with pytest.raises(ConfigurationError, match=r"unknown operation 'nope'.*text_to_image"):
        client.call("nope", {})
    assert client.credits_spent == 0


@pytest.mark.parametrize("typed", ["", "   ", "\n"])
def test_an_empty_key_means_no_key_and_the_local_engine(typed, monkeypatch):
    # What `Client(api_key=getpass())` gets when the user just presses Enter.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": typed)
    from getpass import getpass

    client = Client(api_key=getpass())
    assert client.is_local and not client.has_key
    result = client.text_to_image("a lighthouse")
    assert result.is_preview and result.credits_consumed == 2


def test_an_empty_key_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("CLIPDROP_API_KEY", "sk-from-the-environment")
    assert Client(api_key="").is_local
    assert not Client().is_local  # without an argument the environment's key is used


def test_the_local_engine_is_a_practice_counter_that_never_refuses(monkeypatch):
    monkeypatch.setattr(constants, "LOCAL_ENGINE_CREDITS", 3)
    client = Client()
    lefts = [client.text_to_image(f"a red fox, take {i}").remaining_credits for i in range(4)]
    assert lefts == [1, 1, 1, 1]  # 3 - 2 = 1; then 1 cannot pay 2: it starts again from 3
    assert client.credits_spent == 8
