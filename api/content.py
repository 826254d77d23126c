"""What the API reads and writes: bounded JSON bodies in, JSON out whatever the client accepts."""

from __future__ import annotations

from rest_framework.exceptions import NotAcceptable, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser

# No request body of this API nests deeper than 3 (an object, its list, the list's objects).
MAX_JSON_DEPTH = 32


def nesting_depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests lists and objects more than `limit` deep. Iterative: a recursive
    walk is what failed on deep bodies in the first place."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """JSON with nesting bounded: a body nested about 1,000 deep made the decoder (or anything
    walking the data later) raise RecursionError, a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        message = f"JSON nested more than {MAX_JSON_DEPTH} levels deep."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(message) from None
        if nesting_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(message)
        return data


class JSONWhateverAccepted(DefaultContentNegotiation):
    """A client that accepts nothing the view renders (a browser's `Accept: text/html`) gets the
    view's first format, JSON, rather than a 406: an answer it can read beats none."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type
