"""Notices for an answer that is a good image but not the one the endpoint table documents.

A 2xx whose body is not the image it claims to be raises
[`InvalidResponseError`][clipdrop_widgets.InvalidResponseError] (`result_from_answer`); an image
that is readable but of another size or format than documented was paid for and may still be of
use, so it is kept and the difference is said, as for a credit header that cannot be true: a
[`ClipdropNotice`][clipdrop_widgets.ClipdropNotice], also kept on ``Result.notices``. Checked:
the size a call sets (upscale's target, uncrop's extended frame), the type ``format=`` asked for,
and, with no ``format=``, an answer that cannot hold the transparency the documented default
type has (remove background's PNG answered as JPEG).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..contract.endpoints import CONTENT_TYPE_FORMATS
from .notices import notify

if TYPE_CHECKING:
    from .client import PreparedCall
    from .result import Result

__all__ = ["answer_notices"]

_WITH_ALPHA = ("image/png", "image/webp")


def _words(content_type: str) -> str:
    return CONTENT_TYPE_FORMATS.get(content_type, content_type).upper()


def answer_notices(call: PreparedCall, result: Result, doubt: str | None,
                   spent: float | None) -> tuple[str, ...]:
    """What is wrong with ``result`` for ``call`` (plus ``doubt``, the credit header's notice),
    each shown as a notice; a doubted charge is counted as ``spent`` on the result."""
    ep, found = call.endpoint, []
    if doubt is not None:  # not believed: the result says what was counted
        found.append(doubt)
        result.credits_consumed = spent
    if ep.output_size in ("target", "extended") and ep.image_field is not None:
        image = call.files.get(ep.image_field.name)
        want = ep.answer_size(call.texts, image.facts.size if image is not None else None)
        if want is not None and result.size != want:
            found.append(f"{ep.name}: the server answered a {result.size[0]}x{result.size[1]} "
                         f"image, not the {want[0]}x{want[1]} this call asks for")
    got = result.content_type
    if call.accept is not None and got != call.accept:
        found.append(f"{ep.name}: the server answered {_words(got)}, not the "
                     f"{_words(call.accept)} asked for with format=")
    elif (call.accept is None and ep.output_content_type in _WITH_ALPHA
          and got not in _WITH_ALPHA):
        found.append(f"{ep.name}: the server answered {_words(got)}, which has no "
                     f"transparency, not the documented {_words(ep.output_content_type)}")
    for message in found:
        notify(message)
    return tuple(found)
