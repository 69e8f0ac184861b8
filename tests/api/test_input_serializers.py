"""Input serializers copy their declared fields shallowly per instance: each instance still binds
its own fields and validates on its own."""

from decimal import Decimal

from apps.api.serializers import OrderListInputSerializer, OrderSubmitInputSerializer

ORDER = {"symbol": "ACME", "qty": "10", "side": "buy", "type": "limit", "time_in_force": "day"}


def test_each_instance_binds_its_own_fields_and_leaves_the_declared_ones_alone():
    first, second = OrderSubmitInputSerializer(data=ORDER), OrderSubmitInputSerializer(data=ORDER)

    assert first.fields["qty"] is not second.fields["qty"]
    assert first.fields["qty"].parent is first and second.fields["qty"].parent is second
    assert first.fields["legs"].child is not second.fields["legs"].child  # deep-copied children
    declared = OrderSubmitInputSerializer._declared_fields["qty"]
    assert getattr(declared, "parent", None) is None and declared.field_name is None


def test_instances_validate_independently():
    valid = OrderSubmitInputSerializer(data=ORDER)
    invalid = OrderSubmitInputSerializer(data={**ORDER, "qty": "ten", "side": "hold"})

    assert not invalid.is_valid()
    assert valid.is_valid(), valid.errors
    assert set(invalid.errors) == {"qty", "side"}
    assert valid.validated_data["qty"] == Decimal(10)


def test_validators_given_at_declaration_still_run_on_every_copy():
    for limit in ("0", "501"):
        query = OrderListInputSerializer(data={"limit": limit})
        assert not query.is_valid()
        assert "limit" in query.errors
