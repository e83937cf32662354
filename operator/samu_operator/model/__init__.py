"""The SamuTenant resource as pydantic models: the single source of its schema and its CRD."""

from samu_operator.model.errors import FieldError, TenantInvalid, tenant_errors, validate_tenant
from samu_operator.model.tenant import (
    API_GROUP,
    API_VERSION,
    KIND,
    PLURAL,
    SamuTenant,
    SamuTenantSpec,
    SamuTenantStatus,
    tenant_name_for,
)

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "KIND",
    "PLURAL",
    "FieldError",
    "SamuTenant",
    "SamuTenantSpec",
    "SamuTenantStatus",
    "TenantInvalid",
    "tenant_errors",
    "tenant_name_for",
    "validate_tenant",
]
