"""sms/models.py names the columns of devices that SMS queries read instead of importing the
model from the package above it: each must be the model's column, with the model's type."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

import simrelay.storage.all_models  # noqa: F401  (a foreign key column takes its type once its target is known)
from simrelay.devices.models import Device
from simrelay.sms.models import devices

model = cast(Table, Device.__table__)


def test_the_named_devices_table_is_the_model_s() -> None:
    assert devices.name == model.name
    assert devices.metadata is not model.metadata  # migrations and create_all see only the model
    for column in devices.columns:
        assert column.name in model.columns, column.name
        original = model.columns[column.name]
        assert type(column.type) is type(original.type), column.name
        assert repr(column.type) == repr(original.type), column.name
        assert column.primary_key == original.primary_key, column.name
