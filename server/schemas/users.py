"""Users and authentication bodies."""
from marshmallow import fields, validate

from server.schemas.common import Request, Schema, Timestamp


class User(Schema):
    url = fields.String()
    id = fields.Integer()
    username = fields.String(required=True)
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String()
    groups = fields.List(fields.String())
    is_staff = fields.Boolean()
    is_superuser = fields.Boolean()
    is_active = fields.Boolean()
    last_login = Timestamp(allow_none=True)
    date_joined = Timestamp()
    has_analytics_access = fields.Boolean(allow_none=True)


class PatchedUserRequest(Request):
    username = fields.String(validate=validate.Length(1, 150))
    first_name = fields.String(validate=validate.Length(max=150))
    last_name = fields.String(validate=validate.Length(max=150))
    email = fields.Email(validate=validate.Length(max=254))
    groups = fields.List(fields.String(validate=validate.OneOf(["admin", "user", "worker", "business"])))
    is_staff = fields.Boolean()
    is_superuser = fields.Boolean()
    is_active = fields.Boolean()


class LoginRequest(Request):
    username = fields.String(validate=validate.Length(max=150))
    email = fields.String(validate=validate.Length(max=254))
    password = fields.String(required=True, validate=validate.Length(1, 256))


class Token(Schema):
    key = fields.String(required=True)


class RegisterRequest(Request):
    username = fields.String(required=True, validate=validate.Length(5, 150))
    email = fields.Email(validate=validate.Length(max=254))
    password1 = fields.String(required=True, validate=validate.Length(8, 256))
    password2 = fields.String(required=True, validate=validate.Length(8, 256))
    first_name = fields.String(validate=validate.Length(max=150))
    last_name = fields.String(validate=validate.Length(max=150))


class Registered(Schema):
    username = fields.String(required=True)
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    email_verification_required = fields.Boolean()
    key = fields.String(allow_none=True)


class PasswordChangeRequest(Request):
    old_password = fields.String(validate=validate.Length(max=256))
    new_password1 = fields.String(required=True, validate=validate.Length(1, 256))
    new_password2 = fields.String(required=True, validate=validate.Length(1, 256))


class AccessTokenWrite(Request):
    name = fields.String(required=True, validate=validate.Length(1, 50))
    expiry_date = Timestamp(allow_none=True)
    read_only = fields.Boolean()


class PatchedAccessTokenWrite(AccessTokenWrite):
    name = fields.String(validate=validate.Length(1, 50))


class AccessTokenRead(Schema):
    id = fields.Integer()
    name = fields.String(required=True)
    created_date = Timestamp()
    updated_date = Timestamp()
    expiry_date = Timestamp(allow_none=True)
    last_used_date = Timestamp(allow_none=True)
    read_only = fields.Boolean()
    owner = fields.Dict()
    value = fields.String()
