"""The OpenAPI schema generator of every API view."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema


class ApiAutoSchema(AutoSchema):
    """Operation ids made of the method and the whole path (``get_v2_orders``,
    ``get_v2_orders_by_order_id``), so they are unique by construction: the default names a
    list and a detail view of the same resource alike when both are plain APIViews. An
    ``operation_id`` given with ``extend_schema`` still wins."""

    def get_operation_id(self) -> str:
        words = [self.method.lower()]
        for token in self.path.strip("/").replace(":", "/").split("/"):
            if token.startswith("{"):
                words.append(f"by_{token[1:-1]}")
            elif token:
                words.append(token.replace("-", "_"))
        return "_".join(words)
