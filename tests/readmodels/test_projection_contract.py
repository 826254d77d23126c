"""The contract between events, projections and the summary models, checked against the
models: every event declares the ids it names (and only fields it has), and every projection
names the columns it writes, which must be its model's columns."""

import dataclasses
import typing

import pytest

from core.eventlog import Event
from readmodels.projections import get_projections

# Ids that name no row of any summary table (the auth user behind a customer).
NOT_SUMMARY_KEYS = {"user_id"}


def summary_keys() -> set[str]:
    return {projection.keys[0] for projection in get_projections()}


@pytest.mark.parametrize("event", Event.types(), ids=lambda event: event.event_type())
def test_an_event_declares_every_id_it_names(event):
    fields = {field.name: field for field in dataclasses.fields(event)}
    ids = {name for name in fields if name.endswith("_id")} - NOT_SUMMARY_KEYS
    assert set(event.touches) == ids
    assert set(event.touches.values()) <= summary_keys()
    for name in event.touches_lines:
        assert typing.get_origin(fields[name].type) is list or fields[name].type in (list, "list")


@pytest.mark.parametrize("projection", get_projections(), ids=lambda p: p.name)
def test_a_projection_names_its_model_columns(projection):
    model_columns = [field.column for field in projection.model._meta.concrete_fields]
    assert sorted(projection.columns) == sorted(model_columns)
    assert set(projection.keys) <= set(projection.columns)
    assert set(projection.additive) | set(projection.bookkeeping_columns) <= set(projection.columns)
