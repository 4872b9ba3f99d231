"""The emulator answers a json_schema request with JSON that is valid against the schema."""

import json
from datetime import date
from typing import Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from baseten_llm.emulator.replies import fill_schema, json_reply


class Address(BaseModel):
    street: str = Field(min_length=12)
    zip_code: str = Field(min_length=5, max_length=5)


class Booking(BaseModel):
    guest: str
    nights: int = Field(ge=2, le=30)
    discount: float = Field(gt=0, lt=0.25)
    balance: int = Field(lt=0)
    kind: Literal["single", "double"]
    arrival: date
    email: str = Field(json_schema_extra={"format": "email"})
    rooms: list[Address] = Field(min_length=3, max_length=3)
    note: str | None = None


@pytest.mark.parametrize(
    "schema",
    [
        Booking.model_json_schema(),
        {
            "type": "object",
            "properties": {"n": {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 2}},
            "required": ["n"],
        },
        {"type": "array", "items": {"type": "integer", "minimum": 5}, "minItems": 4},
        {"type": "string", "maxLength": 3},
        {"type": ["null", "integer"], "maximum": -7},
    ],
)
def test_schema_replies_are_valid_against_their_schema(schema):
    jsonschema.validate(fill_schema(schema, "guest Ada wants a room"), schema)


def test_a_json_schema_request_is_answered_with_a_valid_object_built_from_the_question():
    schema = Booking.model_json_schema()
    answer = json.loads(
        json_reply(
            {"type": "json_schema", "json_schema": {"name": "Booking", "schema": schema}},
            "guest Ada for two nights",
            reply_tokens=24,
        )
    )
    jsonschema.validate(answer, schema)
    assert answer["guest"] == "Ada" and Booking.model_validate(answer).nights == 2
