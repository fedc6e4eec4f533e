"""The REST API: one NinjaAPI that mounts each app's router. OpenAPI at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from refmeter.billing.api import router as billing_router
from refmeter.labels.api import router as labels_router
from refmeter.lineloss.api import router as lineloss_router
from refmeter.registry.api import router as registry_router

api = NinjaAPI(
    title="refmeter API",
    version="1",
    description="参考表（虚拟倍率）客户管理接口。认证：Authorization: Bearer <接口令牌>。",
    urls_namespace="api",
)
api.add_router("/", registry_router)
api.add_router("/", labels_router)
api.add_router("/", billing_router)
api.add_router("/", lineloss_router)
