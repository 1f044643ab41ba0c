"""What the residents schemas of several blueprints share: bounded text and id lengths, photos."""

import marshmallow as ma

from guanjia.web import UtcDateTime


def required_text(max_length: int, required: bool = True):
    return ma.fields.String(
        required=required,
        validate=[ma.validate.Length(min=1, max=max_length), ma.validate.Regexp(r"\S", error="must not be blank")],
    )


ID_LENGTH = ma.validate.Length(min=1, max=36)


def optional_text(max_length: int, **kwargs):
    return ma.fields.String(validate=ma.validate.Length(max=max_length), **kwargs)


class PhotoOut(ma.Schema):
    """A photo of an inspection or a vacancy check; its bytes at `…/photos/{id}/content`, as a download."""

    id = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    uploaded_by = ma.fields.String()
    uploaded_by_name = ma.fields.String(dump_only=True, allow_none=True)
    created_at = UtcDateTime()
