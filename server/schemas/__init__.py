"""marshmallow schemas: one module per resource. Request schemas validate
input (unknown keys are ignored, as DRF does); response schemas describe the
OpenAPI document and shape what is sent."""
