"""``tau-retail`` off the gold paths: what upstream τ-bench's retail tools answer and write (or leave alone) for
wrong ids, wrong order states, wrong item lists, payment methods, arguments and ``calculate`` input. Each case
checks the exact string returned and the whole database afterwards."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from ugst_dspy.envs.registry import make_env
from ugst_dspy.envs.tau_common import load_database

UPSTREAM_TOOLS = [
    "calculate", "cancel_pending_order", "exchange_delivered_order_items", "find_user_id_by_email",
    "find_user_id_by_name_zip", "get_order_details", "get_product_details", "get_user_details",
    "list_all_product_types", "modify_pending_order_address", "modify_pending_order_items",
    "modify_pending_order_payment", "modify_user_address", "return_delivered_order_items", "think",
    "transfer_to_human_agents",
]
# fixtures from the data: a pending order paid by gift card (balance 49) whose user also has a credit card
GIFT_PENDING, GIFT_USER, GIFT_CARD, GIFT_USER_CARD = "#W6779827", "ethan_lopez_6291", "gift_card_7219486", \
    "credit_card_9789590"
# a pending order paid by credit card, two identical backpacks (3557711149) and a tea kettle (9747045638)
CARD_PENDING, CARD = "#W9093821", "credit_card_7422485"
# a delivered order paid by paypal; the user also has a gift card (balance 56) and a credit card
DELIVERED, PAYPAL, DELIVERED_GIFT, DELIVERED_CARD = "#W5866402", "paypal_8049766", "gift_card_7794233", \
    "credit_card_9753331"
ESPRESSO, SNEAKERS = "6242772310", "9727387530"
PROCESSED, CANCELLED = "#W2611340", "#W3220387"
ADDRESS = {"address1": "1 Main St", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}


@pytest.fixture
def env():
    return make_env("tau-retail")


def fresh() -> dict[str, Any]:
    """A private copy of the database as the data files have it."""
    return load_database("retail")


def _as_json(db: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {table: {key: json.dumps(record, sort_keys=True) for key, record in records.items()}
            for table, records in db.items()}


@functools.cache
def _pristine() -> dict[str, dict[str, str]]:
    return _as_json(fresh())


def same_db(env, expected: dict[str, Any] | None = None) -> None:
    """The database equals ``expected`` (default: the data files'), record by record as JSON (so ``0`` and
    ``0.0`` differ)."""
    want = _pristine() if expected is None else _as_json(expected)
    have = _as_json(env.db)
    for table, records in want.items():
        assert have[table].keys() == records.keys(), table
        for key, record in records.items():
            assert have[table][key] == record, key


def unchanged(env) -> None:
    same_db(env)


def call(env, tool: str, **arguments: Any) -> str:
    return env.call(tool, arguments)


# -- the tool set and the step -----------------------------------------------------------------------


def test_the_tools_are_upstreams_sixteen(env):
    assert env.tool_names == UPSTREAM_TOOLS
    assert sorted(env.functions) == UPSTREAM_TOOLS


def test_a_tool_upstream_lacks_is_an_unknown_action(env):
    assert call(env, "modify_user_email", user_id=GIFT_USER, email="x@example.com") == \
        "Unknown action modify_user_email"
    unchanged(env)


@pytest.mark.parametrize(("tool", "arguments", "expected"), [
    ("cancel_pending_order", {"order_id": GIFT_PENDING},
     "Error: CancelPendingOrder.invoke() missing 1 required positional argument: 'reason'"),
    ("modify_pending_order_items", {"order_id": CARD_PENDING, "payment_method_id": CARD},
     "Error: ModifyPendingOrderItems.invoke() missing 2 required positional arguments: 'item_ids' and "
     "'new_item_ids'"),
    ("get_user_details", {"user_id": GIFT_USER, "verbose": True},
     "Error: GetUserDetails.invoke() got an unexpected keyword argument 'verbose'"),
    ("list_all_product_types", {"category": "x"},
     "Error: ListAllProductTypes.invoke() got an unexpected keyword argument 'category'"),
    ("calculate", {}, "Error: Calculate.invoke() missing 1 required positional argument: 'expression'"),
    ("think", {}, "Error: Think.invoke() missing 1 required positional argument: 'thought'"),
    ("get_order_details", {"order_id": GIFT_PENDING, "data": {}},
     "Error: tau_bench.envs.retail.tools.get_order_details.GetOrderDetails.invoke() got multiple values for "
     "keyword argument 'data'"),
])
def test_missing_and_unexpected_arguments_read_as_pythons_words_for_upstreams_classes(env, tool, arguments, expected):
    assert env.call(tool, arguments) == expected
    unchanged(env)


def test_arguments_are_not_checked_against_the_schema(env):
    assert call(env, "get_order_details", order_id=6779827) == "Error: order not found"
    assert call(env, "get_order_details", order_id=["#W6779827"]) == "Error: unhashable type: 'list'"
    assert call(env, "cancel_pending_order", order_id=GIFT_PENDING, reason=["no longer needed"]) == \
        "Error: invalid reason"
    assert call(env, "find_user_id_by_email", email=42) == "Error: 'int' object has no attribute 'lower'"
    unchanged(env)


def test_think_and_transfer(env):
    assert call(env, "think", thought="the order is pending") == ""
    assert not env.done
    assert call(env, "transfer_to_human_agents", summary="wants a refund") == "Transfer successful"
    assert env.done
    unchanged(env)


def test_a_failed_transfer_still_ends_the_conversation(env):
    assert call(env, "transfer_to_human_agents") == \
        "Error: TransferToHumanAgents.invoke() missing 1 required positional argument: 'summary'"
    assert env.done


# -- calculate -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "expected"), [
    ("2 + 2", "4.0"), ("1/3", "0.33"), ("(1 + 2) * 3.5", "10.5"), ("   7", "7.0"), ("10 // 3", "3.0"),
    ("2 ** 10", "1024.0"), ("-2 ** 0.5", "-1.41"), (".5 + 1.", "1.5"), ("10**400/10**399", "10.0"),
    ("2.675 * 1", "2.67"), ("10.0**308*10", "inf"),
    ("2 + x", "Error: invalid characters in expression"), ("2,000 + 1", "Error: invalid characters in expression"),
    ("3 % 2", "Error: invalid characters in expression"), ("1/0", "Error: division by zero"),
    ("1.0 // 0", "Error: float floor division by zero"), ("0 ** -1", "Error: 0.0 cannot be raised to a negative power"),
    ("", "Error: invalid syntax (<string>, line 0)"), ("1 +", "Error: invalid syntax (<string>, line 1)"),
    ("(1", "Error: '(' was never closed (<string>, line 1)"),
    ("()", "Error: float() argument must be a string or a real number, not 'tuple'"),
    ("...", "Error: float() argument must be a string or a real number, not 'ellipsis'"),
    ("(-8) ** 0.5", "Error: float() argument must be a string or a real number, not 'complex'"),
    ("(2)(3)", "Error: 'int' object is not callable"),
    ("()(*1)", "Error: () argument after * must be an iterable, not int"),
    ("10.0 ** 400", "Error: (34, 'Numerical result out of range')"),
    ("10 ** 400", "Error: int too large to convert to float"),
    ("9 ** 9 ** 9", "Error: the expression is too large to calculate"),
    ("-" * 1000 + "1", "1.0"),
])
def test_calculate_answers_as_upstreams_eval(env, expression, expected):
    assert call(env, "calculate", expression=expression) == expected
    unchanged(env)


def test_calculate_of_a_non_string(env):
    assert call(env, "calculate", expression=12) == "Error: 'int' object is not iterable"
    assert call(env, "calculate", expression=["1", "+"]) == "Error: eval() arg 1 must be a string, bytes or code object"


# -- look-ups ----------------------------------------------------------------------------------------


def test_find_user_by_email_ignores_case_but_not_spaces(env):
    assert call(env, "find_user_id_by_email", email="Ethan.Lopez8943@EXAMPLE.com") == GIFT_USER
    assert call(env, "find_user_id_by_email", email=" ethan.lopez8943@example.com") == "Error: user not found"
    assert call(env, "find_user_id_by_email", email="nobody@example.com") == "Error: user not found"


def test_find_user_by_name_zip(env):
    assert call(env, "find_user_id_by_name_zip", first_name="ETHAN", last_name="lopez", zip="43275") == GIFT_USER
    assert call(env, "find_user_id_by_name_zip", first_name="Ethan", last_name="Lopez", zip="43275 ") == \
        "Error: user not found"
    assert call(env, "find_user_id_by_name_zip", first_name="Ethan", last_name="Lopez", zip=43275) == \
        "Error: user not found"


def test_get_details_return_the_record_as_upstreams_json(env):
    db = fresh()
    assert call(env, "get_order_details", order_id=GIFT_PENDING) == json.dumps(db["orders"][GIFT_PENDING])
    assert call(env, "get_user_details", user_id=GIFT_USER) == json.dumps(db["users"][GIFT_USER])
    assert call(env, "get_product_details", product_id="2524789262") == json.dumps(db["products"]["2524789262"])
    assert call(env, "get_order_details", order_id="W6779827") == "Error: order not found"
    assert call(env, "get_user_details", user_id="ethan_lopez") == "Error: user not found"
    assert call(env, "get_product_details", product_id="3557711149") == "Error: product not found"  # an item id
    unchanged(env)


def test_list_all_product_types(env):
    listed = json.loads(call(env, "list_all_product_types"))
    assert list(listed) == sorted(p["name"] for p in fresh()["products"].values())
    assert listed["Backpack"] == "2524789262"
    assert len(listed) == 50


# -- cancel --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("order_id", "reason", "expected"), [
    ("#W0000000", "no longer needed", "Error: order not found"),
    (DELIVERED, "no longer needed", "Error: non-pending order cannot be cancelled"),
    (PROCESSED, "ordered by mistake", "Error: non-pending order cannot be cancelled"),
    (CANCELLED, "ordered by mistake", "Error: non-pending order cannot be cancelled"),
    (GIFT_PENDING, "changed my mind", "Error: invalid reason"),
    (GIFT_PENDING, "No longer needed", "Error: invalid reason"),
])
def test_cancel_refusals(env, order_id, reason, expected):
    assert call(env, "cancel_pending_order", order_id=order_id, reason=reason) == expected
    unchanged(env)


def test_cancel_refunds_a_gift_card_at_once_and_twice_is_refused(env):
    result = call(env, "cancel_pending_order", order_id=GIFT_PENDING, reason="no longer needed")
    expected = fresh()
    order = expected["orders"][GIFT_PENDING]
    order["status"] = "cancelled"
    order["cancel_reason"] = "no longer needed"
    order["payment_history"].append({"transaction_type": "refund", "amount": 4079.45, "payment_method_id": GIFT_CARD})
    expected["users"][GIFT_USER]["payment_methods"][GIFT_CARD]["balance"] = 4128.45
    same_db(env, expected)
    assert result == json.dumps(order)
    assert list(json.loads(result))[-1] == "cancel_reason"
    assert call(env, "cancel_pending_order", order_id=GIFT_PENDING, reason="no longer needed") == \
        "Error: non-pending order cannot be cancelled"
    same_db(env, expected)


def test_cancel_after_a_payment_change_refunds_every_entry_refunds_included(env):
    call(env, "modify_pending_order_payment", order_id=GIFT_PENDING, payment_method_id=GIFT_USER_CARD)
    call(env, "cancel_pending_order", order_id=GIFT_PENDING, reason="ordered by mistake")
    history = env.db["orders"][GIFT_PENDING]["payment_history"]
    assert [(t["transaction_type"], t["payment_method_id"]) for t in history] == [
        ("payment", GIFT_CARD), ("payment", GIFT_USER_CARD), ("refund", GIFT_CARD),
        ("refund", GIFT_CARD), ("refund", GIFT_USER_CARD), ("refund", GIFT_CARD),
    ]
    # 49 + 4079.45 (the payment change) + 4079.45 twice (the cancellation)
    assert env.db["users"][GIFT_USER]["payment_methods"][GIFT_CARD]["balance"] == 12287.35


# -- pending orders: address, payment ------------------------------------------------------------------


def test_modify_order_address(env):
    address = {**ADDRESS, "city": "Zürich", "zip": 1}
    result = call(env, "modify_pending_order_address", order_id=CARD_PENDING, **address)
    expected = fresh()
    expected["orders"][CARD_PENDING]["address"] = address
    same_db(env, expected)
    assert result == json.dumps(expected["orders"][CARD_PENDING])
    assert '"address": {"address1": "1 Main St", "address2": "", "city": "Z\\u00fcrich", "state": "TX", ' \
           '"country": "USA", "zip": 1}' in result


@pytest.mark.parametrize(("order_id", "expected"), [
    ("#W0000000", "Error: order not found"), (DELIVERED, "Error: non-pending order cannot be modified"),
])
def test_modify_order_address_refusals(env, order_id, expected):
    assert call(env, "modify_pending_order_address", order_id=order_id, **ADDRESS) == expected
    unchanged(env)


def test_modify_user_address(env):
    result = call(env, "modify_user_address", user_id=GIFT_USER, **ADDRESS)
    expected = fresh()
    expected["users"][GIFT_USER]["address"] = dict(ADDRESS)
    same_db(env, expected)
    assert result == json.dumps(expected["users"][GIFT_USER])
    assert call(env, "modify_user_address", user_id="nobody_1", **ADDRESS) == "Error: user not found"
    same_db(env, expected)


@pytest.mark.parametrize(("order_id", "method", "expected"), [
    ("#W0000000", CARD, "Error: order not found"),
    (DELIVERED, DELIVERED_CARD, "Error: non-pending order cannot be modified"),
    (GIFT_PENDING, "credit_card_0000000", "Error: payment method not found"),
    (GIFT_PENDING, GIFT_CARD, "Error: the new payment method should be different from the current one"),
    ("#W5101035", "gift_card_3573484", "Error: insufficient gift card balance to pay for the order"),
])
def test_modify_payment_refusals(env, order_id, method, expected):
    assert call(env, "modify_pending_order_payment", order_id=order_id, payment_method_id=method) == expected
    unchanged(env)


def test_modify_payment_to_a_gift_card_and_then_again(env):
    result = call(env, "modify_pending_order_payment", order_id="#W1080318", payment_method_id="gift_card_3749819")
    expected = fresh()
    order = expected["orders"]["#W1080318"]
    order["payment_history"] += [
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": "gift_card_3749819"},
        {"transaction_type": "refund", "amount": 53.43, "payment_method_id": "credit_card_3577130"},
    ]
    expected["users"]["omar_kim_3528"]["payment_methods"]["gift_card_3749819"]["balance"] = 37.57
    same_db(env, expected)
    assert result == json.dumps(order)
    assert call(env, "modify_pending_order_payment", order_id="#W1080318", payment_method_id="credit_card_3577130") \
        == "Error: there should be exactly one payment for a pending order"
    same_db(env, expected)


# -- pending orders: items -------------------------------------------------------------------------------


@pytest.mark.parametrize(("order_id", "items", "new_items", "method", "expected"), [
    ("#W0000000", ["9747045638"], ["9647374798"], CARD, "Error: order not found"),
    (DELIVERED, [SNEAKERS], ["2509076505"], PAYPAL, "Error: non-pending order cannot be modified"),
    (CARD_PENDING, ["1111111111"], ["9647374798"], CARD, "Error: 1111111111 not found"),
    (CARD_PENDING, ["9747045638", "9747045638"], ["9647374798", "9647374798"], CARD, "Error: 9747045638 not found"),
    (CARD_PENDING, "9747045638", ["9647374798"], CARD, "Error: 9 not found"),  # a string is a list of characters
    (CARD_PENDING, ["9747045638"], ["9647374798", "3909406921"], CARD,
     "Error: the number of items to be exchanged should match"),
    (CARD_PENDING, ["9747045638"], ["3928046918"], CARD, "Error: new item 3928046918 not found or available"),
    (CARD_PENDING, ["9747045638"], ["6454334990"], CARD, "Error: new item 6454334990 not found or available"),
    (CARD_PENDING, ["9747045638"], ["9647374798"], "paypal_0000000", "Error: payment method not found"),
    (GIFT_PENDING, ["3379843752"], ["3951031513"], GIFT_CARD,
     "Error: insufficient gift card balance to pay for the new item"),
])
def test_modify_items_refusals(env, order_id, items, new_items, method, expected):
    result = call(env, "modify_pending_order_items", order_id=order_id, item_ids=items, new_item_ids=new_items,
                  payment_method_id=method)
    assert result == expected
    unchanged(env)


def _swapped(order: dict[str, Any], index: int, product: dict[str, Any], item_id: str) -> None:
    variant = product["variants"][item_id]
    order["items"][index].update(item_id=item_id, price=variant["price"], options=variant["options"])


def test_modify_items_pays_the_unrounded_difference_and_only_once(env):
    result = call(env, "modify_pending_order_items", order_id=CARD_PENDING, item_ids=["9747045638"],
                  new_item_ids=["9647374798"], payment_method_id=CARD)
    expected = fresh()
    order = expected["orders"][CARD_PENDING]
    _swapped(order, 4, expected["products"]["9832717871"], "9647374798")
    order["status"] = "pending (item modified)"
    order["payment_history"].append({"transaction_type": "payment", "amount": 15.569999999999993,
                                     "payment_method_id": CARD})
    same_db(env, expected)
    assert result == json.dumps(order)
    again = call(env, "modify_pending_order_items", order_id=CARD_PENDING, item_ids=["3557711149"],
                 new_item_ids=["9851293632"], payment_method_id=CARD)
    assert again == "Error: non-pending order cannot be modified"
    assert call(env, "cancel_pending_order", order_id=CARD_PENDING, reason="no longer needed") == \
        "Error: non-pending order cannot be cancelled"
    same_db(env, expected)


def test_modify_items_refunds_a_cheaper_item_to_the_gift_card(env):
    call(env, "modify_pending_order_items", order_id=GIFT_PENDING, item_ids=["3379843752"],
         new_item_ids=["3709608322"], payment_method_id=GIFT_CARD)
    expected = fresh()
    order = expected["orders"][GIFT_PENDING]
    _swapped(order, 1, expected["products"]["4354588079"], "3709608322")
    order["status"] = "pending (item modified)"
    order["payment_history"].append({"transaction_type": "refund", "amount": 459.0600000000004,
                                     "payment_method_id": GIFT_CARD})
    expected["users"][GIFT_USER]["payment_methods"][GIFT_CARD]["balance"] = 508.06
    same_db(env, expected)


@pytest.mark.parametrize(("items", "amount"), [(["9747045638"], 0.0), ([], 0)])
def test_modify_items_without_a_difference_appends_a_zero_refund(env, items, amount):
    call(env, "modify_pending_order_items", order_id=CARD_PENDING, item_ids=items, new_item_ids=list(items),
         payment_method_id=CARD)
    expected = fresh()
    order = expected["orders"][CARD_PENDING]
    order["status"] = "pending (item modified)"
    order["payment_history"].append({"transaction_type": "refund", "amount": amount, "payment_method_id": CARD})
    same_db(env, expected)


def test_modify_items_repeated_item_ids_swap_lines_in_order(env):
    call(env, "modify_pending_order_items", order_id=CARD_PENDING, item_ids=["3557711149", "3557711149"],
         new_item_ids=["9851293632", "9851293632"], payment_method_id=CARD)
    expected = fresh()
    order = expected["orders"][CARD_PENDING]
    for index in (0, 2):
        _swapped(order, index, expected["products"]["2524789262"], "9851293632")
    order["status"] = "pending (item modified)"
    order["payment_history"].append({"transaction_type": "refund", "amount": 23.939999999999998,
                                     "payment_method_id": CARD})
    same_db(env, expected)


def test_modify_items_a_kept_first_line_takes_the_next_swap(env):
    # upstream swaps the first line holding the id each time: the first pair keeps line 0 as it is, so the
    # second pair changes line 0 again and line 2 keeps the old backpack
    call(env, "modify_pending_order_items", order_id=CARD_PENDING, item_ids=["3557711149", "3557711149"],
         new_item_ids=["3557711149", "9851293632"], payment_method_id=CARD)
    items = env.db["orders"][CARD_PENDING]["items"]
    assert [items[0]["item_id"], items[2]["item_id"]] == ["9851293632", "3557711149"]


# -- delivered orders: return ----------------------------------------------------------------------------


@pytest.mark.parametrize(("order_id", "items", "method", "expected"), [
    ("#W0000000", [SNEAKERS], PAYPAL, "Error: order not found"),
    (GIFT_PENDING, ["3379843752"], GIFT_CARD, "Error: non-delivered order cannot be returned"),
    (DELIVERED, [SNEAKERS], "gift_card_0000000", "Error: payment method not found"),
    (DELIVERED, [SNEAKERS], DELIVERED_CARD,
     "Error: payment method should be either the original payment method or a gift card"),
    (DELIVERED, ["1111111111"], DELIVERED_CARD,
     "Error: payment method should be either the original payment method or a gift card"),
    (DELIVERED, ["1111111111"], PAYPAL, "Error: some item not found"),
    (DELIVERED, [SNEAKERS, SNEAKERS], PAYPAL, "Error: some item not found"),
])
def test_return_refusals(env, order_id, items, method, expected):
    assert call(env, "return_delivered_order_items", order_id=order_id, item_ids=items,
                payment_method_id=method) == expected
    unchanged(env)


@pytest.mark.parametrize(("items", "method"), [([SNEAKERS, ESPRESSO], DELIVERED_GIFT), ([], PAYPAL)])
def test_return_to_a_gift_card_or_of_no_items_then_no_second_request(env, items, method):
    result = call(env, "return_delivered_order_items", order_id=DELIVERED, item_ids=items, payment_method_id=method)
    expected = fresh()
    order = expected["orders"][DELIVERED]
    order.update(status="return requested", return_items=sorted(items), return_payment_method_id=method)
    same_db(env, expected)
    assert result == json.dumps(order)
    assert call(env, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=[SNEAKERS],
                new_item_ids=["2509076505"], payment_method_id=PAYPAL) == \
        "Error: non-delivered order cannot be exchanged"
    same_db(env, expected)


# -- delivered orders: exchange --------------------------------------------------------------------------


@pytest.mark.parametrize(("order_id", "items", "new_items", "method", "expected"), [
    ("#W0000000", [SNEAKERS], ["2509076505"], PAYPAL, "Error: order not found"),
    (CARD_PENDING, ["9747045638"], ["9647374798"], CARD, "Error: non-delivered order cannot be exchanged"),
    (DELIVERED, ["1111111111"], ["2509076505"], PAYPAL, "Error: 1111111111 not found"),
    (DELIVERED, [SNEAKERS], [], PAYPAL, "Error: the number of items to be exchanged should match"),
    (DELIVERED, [SNEAKERS], ["3709608322"], PAYPAL, "Error: new item 3709608322 not found or available"),
    (DELIVERED, [SNEAKERS], ["3631875806"], PAYPAL, "Error: new item 3631875806 not found or available"),
    (DELIVERED, [SNEAKERS], ["2509076505"], "paypal_0000000", "Error: payment method not found"),
    (DELIVERED, [ESPRESSO], ["3951031513"], DELIVERED_GIFT,
     "Error: insufficient gift card balance to pay for the price difference"),
])
def test_exchange_refusals(env, order_id, items, new_items, method, expected):
    assert call(env, "exchange_delivered_order_items", order_id=order_id, item_ids=items, new_item_ids=new_items,
                payment_method_id=method) == expected
    unchanged(env)


def test_exchange_stores_the_rounded_difference_and_accepts_any_method_of_the_profile(env):
    result = call(env, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=[SNEAKERS, ESPRESSO],
                  new_item_ids=["2509076505", "3951031513"], payment_method_id=DELIVERED_CARD)
    expected = fresh()
    order = expected["orders"][DELIVERED]
    order.update({
        "status": "exchange requested", "exchange_items": [ESPRESSO, SNEAKERS],
        "exchange_new_items": ["2509076505", "3951031513"], "exchange_payment_method_id": DELIVERED_CARD,
        "exchange_price_difference": 275.18,
    })
    same_db(env, expected)
    assert result == json.dumps(order)
    assert call(env, "return_delivered_order_items", order_id=DELIVERED, item_ids=[SNEAKERS],
                payment_method_id=PAYPAL) == "Error: non-delivered order cannot be returned"
    same_db(env, expected)


def test_exchange_of_no_items_stores_a_whole_zero(env):
    call(env, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=[], new_item_ids=[],
         payment_method_id=PAYPAL)
    order = env.db["orders"][DELIVERED]
    assert (order["status"], order["exchange_items"], order["exchange_price_difference"]) == \
        ("exchange requested", [], 0)
    assert json.dumps(order["exchange_price_difference"]) == "0"


def test_a_write_that_fails_midway_keeps_what_it_wrote(env):
    # the order's first payment method is no longer in the profile: upstream appends both entries and
    # charges the new gift card before the refund to the missing card fails
    env.db["orders"]["#W1080318"]["payment_history"][0]["payment_method_id"] = "gift_card_0000000"
    before = copy.deepcopy(env.db)
    result = call(env, "modify_pending_order_payment", order_id="#W1080318", payment_method_id="gift_card_3749819")
    assert result == "Error: 'gift_card_0000000'"
    before["orders"]["#W1080318"]["payment_history"] += [
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": "gift_card_3749819"},
        {"transaction_type": "refund", "amount": 53.43, "payment_method_id": "gift_card_0000000"},
    ]
    before["users"]["omar_kim_3528"]["payment_methods"]["gift_card_3749819"]["balance"] = 37.57
    same_db(env, before)
