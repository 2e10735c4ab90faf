"""Organizations, memberships, invitations."""
from marshmallow import fields, validate

from domain.organizations import ROLES
from server.schemas.common import BasicUser, Request, Schema, Timestamp


class OrganizationWrite(Request):
    slug = fields.String(required=True, validate=validate.Length(1, 16))
    name = fields.String(validate=validate.Length(max=64))
    description = fields.String(validate=validate.Length(max=10_000))
    contact = fields.Dict(keys=fields.String(validate=validate.Length(max=64)),
                          values=fields.String(validate=validate.Length(max=1000)))


class PatchedOrganizationWrite(OrganizationWrite):
    slug = fields.String(validate=validate.Length(1, 16))


class OrganizationRead(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    description = fields.String()
    created_date = Timestamp()
    updated_date = Timestamp()
    contact = fields.Dict()
    owner = fields.Nested(BasicUser, required=True, allow_none=True)


class BasicOrganization(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()


class MembershipRead(Schema):
    id = fields.Integer()
    user = fields.Nested(BasicUser, required=True)
    organization = fields.Integer()
    is_active = fields.Boolean()
    joined_date = Timestamp(allow_none=True)
    role = fields.String()
    invitation = fields.String(allow_none=True)


class PatchedMembershipWrite(Request):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class InvitationWrite(Request):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    email = fields.Email(required=True)


class InvitationRead(Schema):
    key = fields.String()
    role = fields.String(required=True)
    user = fields.Nested(BasicUser, required=True)
    organization = fields.Integer(required=True)
    organization_info = fields.Nested(BasicOrganization, required=True)
    owner = fields.Nested(BasicUser, required=True, allow_none=True)
    created_date = Timestamp()
    expired = fields.Boolean(allow_none=True)
    accepted = fields.Boolean()
