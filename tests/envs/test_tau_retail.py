"""Every retail tool on the real database: a happy path checked against orders/users/products.json, and each
refused precondition (an ``"Error: ..."`` string, nothing changed)."""

from __future__ import annotations

import json

import pytest

from .conftest import ok, refused

YUSUF = "yusuf_rossi_9620"
DELIVERED = "#W2378156"  # yusuf_rossi_9620, paid with credit_card_9513926
YUSUF_CARD = "credit_card_9513926"
PENDING_GIFT = "#W6779827"  # ethan_lopez_6291, paid 4079.45 with gift_card_7219486 (balance 49)
ETHAN_GIFT = "gift_card_7219486"
PENDING_PAYPAL = "#W2443586"  # aarav_nguyen_7344, paid 591.95 with paypal_7859314
AARAV_PAYPAL = "paypal_7859314"
AARAV_GIFT = "gift_card_2742113"  # holds 22
PROCESSED = "#W2611340"
KEYBOARD = "9690244451"  # in PENDING_PAYPAL, 236.51
KEYBOARD_DEARER = "7706410293"  # same product, available, 269.16
KEYBOARD_CHEAPER = "3616838507"  # same product, available, 226.11
KEYBOARD_UNAVAILABLE = "1340995114"
BOOTS = "1437889264"  # another product in PENDING_PAYPAL
ADDRESS = {"address1": "1 Test Way", "address2": "", "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}
STORED_ADDRESS = {key: ADDRESS[key] for key in ("address1", "address2", "city", "country", "state", "zip")}


def gift_balance(env, user_id: str, card: str) -> float:
    return env.db["users"][user_id]["payment_methods"][card]["balance"]


# -- the environment ---------------------------------------------------------------------------------


def test_schemas_are_the_file_verbatim(retail, tau_root):
    schemas = json.loads((tau_root / "tau_bench" / "tools" / "retail.json").read_text())
    assert retail.schemas == schemas
    assert retail.tool_names == [s["function"]["name"] for s in schemas]
    assert sorted(retail.functions) == sorted(retail.tool_names) and len(retail.tool_names) == 16
    assert retail.policy == (tau_root / "tau_bench" / "policy" / "retail.md").read_text()


def test_each_environment_has_its_own_database(retail, tau_root):
    from ugst_dspy.envs.tau_retail import RetailEnv

    ok(retail, "cancel_pending_order", order_id=PENDING_GIFT, reason="no longer needed")
    assert RetailEnv(tau_root).db["orders"][PENDING_GIFT]["status"] == "pending"


def test_unknown_tools_missing_and_mistyped_arguments_are_error_strings(retail):
    assert retail.call("fly_to_the_moon", {}) == "Error: unknown tool 'fly_to_the_moon'"
    assert retail.call("get_order_details", {}).startswith("Error: missing argument(s) order_id")
    message = refused(retail, "return_delivered_order_items", order_id=DELIVERED, item_ids="1151293680",
                      payment_method_id=YUSUF_CARD)
    assert "item_ids" in message
    assert "order_id" in refused(retail, "get_order_details", order_id=7)
    assert len(retail.calls) == 4


# -- look-ups ----------------------------------------------------------------------------------------


def test_find_user_id_by_email(retail, raw):
    email = raw["retail"]["users"][YUSUF]["email"]
    assert retail.call("find_user_id_by_email", {"email": email}) == YUSUF
    assert retail.call("find_user_id_by_email", {"email": f" {email.upper()} "}) == YUSUF
    assert refused(retail, "find_user_id_by_email", email="nobody@example.com") == "Error: user not found"


def test_find_user_id_by_name_zip(retail):
    for first, last in [("Yusuf", "Rossi"), ("yusuf", "ROSSI")]:
        found = retail.call("find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": "19122"})
        assert found == YUSUF
    refused(retail, "find_user_id_by_name_zip", first_name="Yusuf", last_name="Rossi", zip="19123")


def test_get_order_details(retail, raw):
    assert ok(retail, "get_order_details", order_id=DELIVERED) == raw["retail"]["orders"][DELIVERED]
    refused(retail, "get_order_details", order_id="W2378156")  # the '#' is part of the id


def test_get_product_details(retail, raw):
    product = ok(retail, "get_product_details", product_id="1656367028")
    assert product == raw["retail"]["products"]["1656367028"] and product["name"] == "Mechanical Keyboard"
    assert refused(retail, "get_product_details", product_id=KEYBOARD) == "Error: product not found"  # an item id


def test_get_user_details(retail, raw):
    user = ok(retail, "get_user_details", user_id=YUSUF)
    assert user == raw["retail"]["users"][YUSUF] and DELIVERED in user["orders"]
    refused(retail, "get_user_details", user_id="yusuf_rossi_0000")


def test_list_all_product_types(retail, raw):
    listed = ok(retail, "list_all_product_types")
    assert listed == {p["name"]: p["product_id"] for p in raw["retail"]["products"].values()}
    assert len(listed) == 50 and list(listed) == sorted(listed)


def test_think_calculate_and_transfer(retail):
    before = retail.state_hash()
    assert retail.call("think", {"thought": "The keyboard is clicky."}) == ""
    assert retail.call("calculate", {"expression": "(269.16 - 236.51) * 2"}) == "65.3"
    assert retail.call("calculate", {"expression": "10 / 4 + -1"}) == "1.5"
    assert "invalid characters" in retail.call("calculate", {"expression": "__import__('os').system('true')"})
    assert retail.call("calculate", {"expression": "2 ** 10"}).startswith("Error: only numbers")
    assert retail.call("calculate", {"expression": "1 / (2 - 2)"}) == "Error: division by zero"
    assert retail.call("calculate", {"expression": "(1 + 2"}) == "Error: the expression is not valid arithmetic"
    assert not retail.done
    assert retail.call("transfer_to_human_agents", {"summary": "wants a refund to PayPal"}) == "Transfer successful"
    assert retail.done and "transfer_to_human_agents" in retail.terminal_tools
    assert retail.state_hash() == before


# -- cancel ------------------------------------------------------------------------------------------


def test_cancel_pending_order_refunds_a_gift_card_at_once(retail, raw):
    paid = raw["retail"]["orders"][PENDING_GIFT]["payment_history"][0]
    balance = gift_balance(retail, "ethan_lopez_6291", ETHAN_GIFT)
    order = ok(retail, "cancel_pending_order", order_id=PENDING_GIFT, reason="ordered by mistake")
    assert order["status"] == "cancelled" and order["cancel_reason"] == "ordered by mistake"
    assert order["items"] == raw["retail"]["orders"][PENDING_GIFT]["items"]
    assert order["payment_history"][-1] == {**paid, "transaction_type": "refund"}
    assert gift_balance(retail, "ethan_lopez_6291", ETHAN_GIFT) == pytest.approx(balance + paid["amount"])


def test_cancel_pending_order_refunds_other_methods_later(retail, raw):
    ok(retail, "cancel_pending_order", order_id=PENDING_PAYPAL, reason="no longer needed")
    assert retail.db["orders"][PENDING_PAYPAL]["payment_history"][-1] == {
        "transaction_type": "refund", "amount": 591.95, "payment_method_id": AARAV_PAYPAL}
    assert retail.db["users"]["aarav_nguyen_7344"] == raw["retail"]["users"]["aarav_nguyen_7344"]


def test_cancel_refusals(retail, raw):
    assert raw["retail"]["orders"][PROCESSED]["status"] == "processed"
    for order_id in (PROCESSED, DELIVERED):
        message = refused(retail, "cancel_pending_order", order_id=order_id, reason="no longer needed")
        assert "only a pending order" in message
    assert "reason" in refused(retail, "cancel_pending_order", order_id=PENDING_GIFT, reason="too expensive")
    refused(retail, "cancel_pending_order", order_id="#W0000000", reason="no longer needed")
    ok(retail, "cancel_pending_order", order_id=PENDING_GIFT, reason="no longer needed")
    refused(retail, "cancel_pending_order", order_id=PENDING_GIFT, reason="no longer needed")  # already cancelled


# -- modify a pending order --------------------------------------------------------------------------


def test_modify_pending_order_address(retail, raw):
    order = ok(retail, "modify_pending_order_address", order_id=PENDING_PAYPAL, **ADDRESS)
    assert order["address"] == STORED_ADDRESS
    assert order["status"] == "pending" and order["items"] == raw["retail"]["orders"][PENDING_PAYPAL]["items"]


def test_modify_pending_order_address_refusals(retail):
    assert "only a pending order" in refused(retail, "modify_pending_order_address", order_id=DELIVERED, **ADDRESS)
    refused(retail, "modify_pending_order_address", order_id="#W0000000", **ADDRESS)


def test_modify_pending_order_payment_to_a_credit_card(retail, raw):
    amount = raw["retail"]["orders"][PENDING_GIFT]["payment_history"][0]["amount"]
    balance = gift_balance(retail, "ethan_lopez_6291", ETHAN_GIFT)
    order = ok(retail, "modify_pending_order_payment", order_id=PENDING_GIFT, payment_method_id="credit_card_9789590")
    assert order["status"] == "pending"
    assert order["payment_history"][1:] == [
        {"transaction_type": "payment", "amount": amount, "payment_method_id": "credit_card_9789590"},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": ETHAN_GIFT},
    ]
    assert gift_balance(retail, "ethan_lopez_6291", ETHAN_GIFT) == pytest.approx(balance + amount)


def test_modify_pending_order_payment_refusals(retail):
    def pay_with(method: str, order_id: str = PENDING_PAYPAL) -> str:
        return refused(retail, "modify_pending_order_payment", order_id=order_id, payment_method_id=method)

    assert "differ" in pay_with(AARAV_PAYPAL)
    assert "balance 22 does not cover 591.95" in pay_with(AARAV_GIFT)
    assert "not in the profile" in pay_with(YUSUF_CARD)
    assert "only a pending order" in pay_with("gift_card_1725971", PROCESSED)


def test_modify_pending_order_items(retail, raw):
    before = raw["retail"]["orders"][PENDING_PAYPAL]
    variant = raw["retail"]["products"]["1656367028"]["variants"][KEYBOARD_DEARER]
    order = ok(retail, "modify_pending_order_items", order_id=PENDING_PAYPAL, item_ids=[KEYBOARD],
               new_item_ids=[KEYBOARD_DEARER], payment_method_id=AARAV_PAYPAL)
    assert order["status"] == "pending (item modified)"
    keyboard = order["items"][0]
    assert (keyboard["item_id"], keyboard["price"]) == (KEYBOARD_DEARER, variant["price"])
    assert keyboard["options"] == variant["options"] and keyboard["product_id"] == "1656367028"
    assert order["items"][1:] == before["items"][1:]
    assert order["payment_history"][-1] == {
        "transaction_type": "payment", "amount": round(269.16 - 236.51, 2), "payment_method_id": AARAV_PAYPAL}
    # once only: afterwards the order can be neither modified nor cancelled
    again = refused(retail, "modify_pending_order_items", order_id=PENDING_PAYPAL, item_ids=[BOOTS],
                    new_item_ids=[BOOTS], payment_method_id=AARAV_PAYPAL)
    assert "already modified" in again
    refused(retail, "modify_pending_order_address", order_id=PENDING_PAYPAL, **ADDRESS)
    refused(retail, "cancel_pending_order", order_id=PENDING_PAYPAL, reason="no longer needed")


def test_modify_pending_order_items_refunds_a_cheaper_item_to_a_gift_card(retail):
    ok(retail, "modify_pending_order_items", order_id=PENDING_PAYPAL, item_ids=[KEYBOARD],
       new_item_ids=[KEYBOARD_CHEAPER], payment_method_id=AARAV_GIFT)
    assert gift_balance(retail, "aarav_nguyen_7344", AARAV_GIFT) == 32.4  # 22 + 236.51 - 226.11
    assert retail.db["orders"][PENDING_PAYPAL]["payment_history"][-1]["transaction_type"] == "refund"


def test_modify_pending_order_items_refusals(retail):
    def modify(item_ids, new_item_ids, payment=AARAV_PAYPAL, order_id=PENDING_PAYPAL):
        return refused(retail, "modify_pending_order_items", order_id=order_id, item_ids=item_ids,
                       new_item_ids=new_item_ids, payment_method_id=payment)

    assert "not an option of product Mechanical Keyboard" in modify([KEYBOARD], [BOOTS])
    assert "not available" in modify([KEYBOARD], [KEYBOARD_UNAVAILABLE])
    assert f"item {KEYBOARD_DEARER} is not in order" in modify([KEYBOARD_DEARER], [KEYBOARD])
    assert "2 times" in modify([KEYBOARD, KEYBOARD], [KEYBOARD_DEARER, KEYBOARD_CHEAPER])
    assert "same length" in modify([KEYBOARD], [KEYBOARD_DEARER, KEYBOARD_CHEAPER])
    assert "balance 22 does not cover 32.65" in modify([KEYBOARD], [KEYBOARD_DEARER], AARAV_GIFT)
    assert "not in the profile" in modify([KEYBOARD], [KEYBOARD_DEARER], YUSUF_CARD)
    assert "only a pending order" in modify(["1151293680"], ["7706410293"], YUSUF_CARD, DELIVERED)


# -- return and exchange a delivered order -----------------------------------------------------------


def test_return_delivered_order_items(retail, raw):
    order = ok(retail, "return_delivered_order_items", order_id=DELIVERED, item_ids=["4983901480", "1151293680"],
               payment_method_id=YUSUF_CARD)
    assert order["status"] == "return requested"
    assert order["return_items"] == ["1151293680", "4983901480"]
    assert order["return_payment_method_id"] == YUSUF_CARD
    assert order["items"] == raw["retail"]["orders"][DELIVERED]["items"]
    # return or exchange only once
    refused(retail, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=["4202497723"],
            new_item_ids=["4202497723"], payment_method_id=YUSUF_CARD)


def test_return_refusals(retail, raw):
    def give_back(item_ids, payment=YUSUF_CARD, order_id=DELIVERED):
        return refused(retail, "return_delivered_order_items", order_id=order_id, item_ids=item_ids,
                       payment_method_id=payment)

    # retail-test-12: a refund to PayPal for an order paid by credit card is neither allowed destination
    assert raw["retail"]["orders"]["#W5490111"]["payment_history"][0]["payment_method_id"] == "credit_card_3124723"
    message = give_back(["4579334072"], "paypal_9497703", "#W5490111")
    assert "original payment method or an existing gift card" in message
    assert "not in order" in give_back([KEYBOARD])
    assert "only a delivered order" in give_back([KEYBOARD], AARAV_PAYPAL, PENDING_PAYPAL)
    assert "no items" in give_back([])
    assert "not in the profile" in give_back(["1151293680"], AARAV_GIFT)


def test_exchange_delivered_order_items(retail, raw):
    variants = {p: raw["retail"]["products"][p]["variants"] for p in ("1656367028", "4896585277")}
    order = ok(retail, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=["1151293680", "4983901480"],
               new_item_ids=["7706410293", "7747408585"], payment_method_id=YUSUF_CARD)
    new_prices = variants["1656367028"]["7706410293"]["price"] + variants["4896585277"]["7747408585"]["price"]
    assert order["status"] == "exchange requested"
    assert order["exchange_items"] == ["1151293680", "4983901480"]
    assert order["exchange_new_items"] == ["7706410293", "7747408585"]
    assert order["exchange_price_difference"] == pytest.approx(new_prices - 272.33 - 262.47)
    assert order["items"] == raw["retail"]["orders"][DELIVERED]["items"]  # the new items come after the return


def test_exchange_to_the_same_item_is_accepted(retail):
    # upstream gold actions (e.g. retail-test-18) exchange an item for an identical one
    ok(retail, "exchange_delivered_order_items", order_id=DELIVERED, item_ids=["9408160950"],
       new_item_ids=["9408160950"], payment_method_id=YUSUF_CARD)


def test_exchange_refusals(retail):
    def exchange(item_ids, new_item_ids, payment=YUSUF_CARD, order_id=DELIVERED):
        return refused(retail, "exchange_delivered_order_items", order_id=order_id, item_ids=item_ids,
                       new_item_ids=new_item_ids, payment_method_id=payment)

    assert "only a delivered order" in exchange([KEYBOARD], [KEYBOARD_DEARER], AARAV_PAYPAL, PENDING_PAYPAL)
    assert "not an option of product" in exchange(["1151293680"], ["4983901480"])
    assert "not available" in exchange(["1151293680"], [KEYBOARD_UNAVAILABLE])
    assert "not in order" in exchange([KEYBOARD], [KEYBOARD_DEARER])
    assert "not in the profile" in exchange(["1151293680"], ["7706410293"], AARAV_PAYPAL)
    assert "no items" in exchange([], [])


def test_exchange_gift_card_must_cover_the_difference(retail):
    # retail-test-106: two glass kettles for dearer ones, paid with a gift card holding 17
    message = refused(retail, "exchange_delivered_order_items", order_id="#W4316152",
                      item_ids=["7292993796", "7292993796"], new_item_ids=["3761330360", "9647374798"],
                      payment_method_id="gift_card_7245904")
    assert "balance 17 does not cover 21.1" in message


# -- the user's address ------------------------------------------------------------------------------


def test_modify_user_address(retail, raw):
    user = ok(retail, "modify_user_address", user_id=YUSUF, **ADDRESS)
    assert user["address"] == STORED_ADDRESS
    assert user["payment_methods"] == raw["retail"]["users"][YUSUF]["payment_methods"]
    assert retail.db["orders"][DELIVERED]["address"] == raw["retail"]["orders"][DELIVERED]["address"]


def test_modify_user_address_refusal(retail):
    assert refused(retail, "modify_user_address", user_id="nobody_1", **ADDRESS) == "Error: user not found"
