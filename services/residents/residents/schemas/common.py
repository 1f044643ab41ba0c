"""What the residents schemas of several blueprints share: bounded text and id lengths."""

import marshmallow as ma


def required_text(max_length: int, required: bool = True):
    return ma.fields.String(
        required=required,
        validate=[ma.validate.Length(min=1, max=max_length), ma.validate.Regexp(r"\S", error="must not be blank")],
    )


ID_LENGTH = ma.validate.Length(min=1, max=36)


def optional_text(max_length: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(max=max_length), **kwargs)
