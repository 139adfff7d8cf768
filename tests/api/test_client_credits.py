"""The client's ``budget`` and ``credits_spent`` do not believe an impossible charge.

Before the fix a server answering ``x-credits-consumed: -5`` made ``credits_spent`` go
negative, so a ``budget`` never ran out; ``1e308`` locked the budget for good.
"""

from __future__ import annotations

import numpy as np
import pytest
from fault_server import Action, FaultServer, png_bytes
from PIL import Image

from clipdrop_widgets import BudgetExceededError, Client, ClipdropNotice


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


def _photo() -> Image.Image:
    return Image.fromarray(np.full((48, 64, 3), 90, np.uint8), "RGB")


def test_a_negative_charge_is_counted_at_the_most_and_the_budget_still_stops(server):
    server.default = Action.image(x_credits_consumed="-5")
    client = Client("test-key", base_url=server.url, timeout=5, budget=2)
    with pytest.warns(ClipdropNotice, match="cannot be right"):
        first = client.uncrop(_photo(), extend_left=10)
    assert first.credits_consumed == 1 and client.credits_spent == 1
    with pytest.warns(ClipdropNotice):
        client.uncrop(_photo(), extend_left=10)
    with pytest.raises(BudgetExceededError):
        client.uncrop(_photo(), extend_left=10)
    assert len(server.seen) == 2 and client.credits_spent == 2
    assert "-" not in first.summary()


@pytest.mark.parametrize("header", ["1e308", "11"])
def test_an_absurd_charge_is_counted_at_the_most(server, header):
    server.default = Action.image(x_credits_consumed=header)
    client = Client("test-key", base_url=server.url, timeout=5, budget=3)
    with pytest.warns(ClipdropNotice, match=header):
        result = client.uncrop(_photo(), extend_left=10)
    assert result.credits_consumed == 1 and client.credits_spent == 1
    client.uncrop(_photo(), extend_left=20)  # the budget is not locked


def test_a_credible_charge_is_believed_quietly(server, recwarn):
    # (the answer has the extended size: a wrong size would rightly be a notice of its own)
    server.default = Action.image(png_bytes((74, 48)), x_credits_consumed="0.5")
    client = Client("test-key", base_url=server.url, timeout=5)
    assert client.uncrop(_photo(), extend_left=10).credits_consumed == 0.5
    assert client.credits_spent == 0.5
    assert not [w for w in recwarn if issubclass(w.category, ClipdropNotice)]
