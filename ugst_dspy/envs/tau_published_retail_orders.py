"""The order tools of ``tau-retail``, with upstream τ-bench's checks, answers and database effects exactly.

Each tool checks what upstream checks, in upstream's order, and no more; it answers with upstream's words and
``json.dumps`` defaults (ASCII escapes, the record's own key order); it writes what upstream writes, amounts
as computed (floats, unrounded where upstream does not round). Arguments are used as given, with the same
operations upstream applies to them (``list.count``, ``sorted``, ``in``), so a string where a list belongs or
an unhashable id fails as it fails upstream. A failure midway leaves what was already written, as upstream's
does (the step turns the exception into ``Error: MESSAGE``).
"""

from __future__ import annotations

import json
from typing import Any

PENDING = "pending"
DELIVERED = "delivered"
CANCEL_REASONS = ["no longer needed", "ordered by mistake"]


def _first_item(order: dict[str, Any], item_id: Any) -> dict[str, Any]:
    """The first line of the order holding ``item_id`` now (upstream's choice among repeated items)."""
    return [item for item in order["items"] if item["item_id"] == item_id][0]


def _unheld_items(order: dict[str, Any], item_ids: Any) -> list[Any]:
    """``[item id]``, the first of ``item_ids`` asked for more times than the order holds it, or ``[]``."""
    held = [item["item_id"] for item in order["items"]]
    for item_id in item_ids:
        if item_ids.count(item_id) > held.count(item_id):
            return [item_id]
    return []


class RetailOrderTools:
    """The order tools of :class:`ugst_dspy.envs.tau_published_retail.PublishedRetailEnv` (``self.db``)."""

    db: dict[str, Any]

    def _profile_methods(self, order: dict[str, Any]) -> dict[str, Any]:
        return self.db["users"][order["user_id"]]["payment_methods"]

    def _order_in(self, order_id: Any, status: str, refusal: str) -> tuple[dict[str, Any], str | None]:
        orders = self.db["orders"]
        if order_id not in orders:
            return {}, "Error: order not found"
        order = orders[order_id]
        if order["status"] != status:
            return {}, refusal
        return order, None

    def _method_covering(self, order: dict[str, Any], payment_method_id: str, amount: Any,
                         what: str) -> tuple[dict[str, Any], str | None]:
        """The profile's method ``payment_method_id`` and the first error: not in the profile, or a gift card
        whose balance is below ``amount`` (``insufficient gift card balance to pay for WHAT``)."""
        methods = self._profile_methods(order)
        if payment_method_id not in methods:
            return {}, "Error: payment method not found"
        method = methods[payment_method_id]
        if method["source"] == "gift_card" and method["balance"] < amount:
            return method, f"Error: insufficient gift card balance to pay for {what}"
        return method, None

    def _swap_checked(self, order_id: str, status: str, wrong_status: str, item_ids: list[str],
                      new_item_ids: list[str]) -> tuple[dict[str, Any], Any, str | None]:
        """The checks a swap of items makes first, in upstream's order (order and status, items held, list
        lengths, new items); the order, the unrounded price difference and the first error."""
        order, error = self._order_in(order_id, status, wrong_status)
        if error:
            return order, 0, error
        unheld = _unheld_items(order, item_ids)
        if unheld:
            return order, 0, f"Error: {unheld[0]} not found"
        if len(item_ids) != len(new_item_ids):
            return order, 0, "Error: the number of items to be exchanged should match"
        difference, error = self._price_difference(order, item_ids, new_item_ids)
        return order, difference, error

    def _price_difference(self, order: dict[str, Any], item_ids: Any, new_item_ids: Any) -> tuple[Any, str | None]:
        """New prices less old ones, summed pair by pair from 0 (upstream's float sum), or the refusal of a
        new item that is not an available option of the old item's product."""
        products = self.db["products"]
        difference: Any = 0
        for item_id, new_item_id in zip(item_ids, new_item_ids):
            item = _first_item(order, item_id)
            variants = products[item["product_id"]]["variants"]
            if not (new_item_id in variants and variants[new_item_id]["available"]):
                return 0, f"Error: new item {new_item_id} not found or available"
            old_price = item["price"]
            difference += variants[new_item_id]["price"] - old_price
        return difference, None

    # -- pending orders ------------------------------------------------------------------------------

    def cancel_pending_order(self, order_id: str, reason: str) -> str:
        """Cancel a pending order: every payment_history entry (refunds too) gets a refund entry of its amount,
        gift cards (by ``gift_card`` in the method id) are credited at once."""
        order, error = self._order_in(order_id, PENDING, "Error: non-pending order cannot be cancelled")
        if error:
            return error
        if reason not in CANCEL_REASONS:
            return "Error: invalid reason"
        refunds = []
        for entry in order["payment_history"]:
            method_id = entry["payment_method_id"]
            refunds.append({"transaction_type": "refund", "amount": entry["amount"], "payment_method_id": method_id})
            if "gift_card" in method_id:
                card = self._profile_methods(order)[method_id]
                card["balance"] = round(card["balance"] + entry["amount"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return json.dumps(order)

    def modify_pending_order_address(
        self, order_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        """Replace the shipping address of a pending order (nothing about the values is checked)."""
        order, error = self._order_in(order_id, PENDING, "Error: non-pending order cannot be modified")
        if error:
            return error
        order["address"] = {
            "address1": address1, "address2": address2, "city": city, "state": state, "country": country, "zip": zip,
        }
        return json.dumps(order)

    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> str:
        """Pay a pending order's single payment with another method of the profile: a payment by the new
        method and a refund to the old one are appended."""
        order, error = self._order_in(order_id, PENDING, "Error: non-pending order cannot be modified")
        if error:
            return error
        methods = self._profile_methods(order)
        if payment_method_id not in methods:
            return "Error: payment method not found"
        history = order["payment_history"]
        if len(history) > 1 or history[0]["transaction_type"] != "payment":
            return "Error: there should be exactly one payment for a pending order"
        if history[0]["payment_method_id"] == payment_method_id:
            return "Error: the new payment method should be different from the current one"
        amount = history[0]["amount"]
        method = methods[payment_method_id]
        if method["source"] == "gift_card" and method["balance"] < amount:
            return "Error: insufficient gift card balance to pay for the order"
        history.extend([
            {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
            {"transaction_type": "refund", "amount": amount, "payment_method_id": history[0]["payment_method_id"]},
        ])
        if method["source"] == "gift_card":
            method["balance"] = round(method["balance"] - amount, 2)
        old_id = history[0]["payment_method_id"]
        if "gift_card" in old_id:
            old = self._profile_methods(order)[old_id]
            old["balance"] = round(old["balance"] + amount, 2)
        return json.dumps(order)

    def modify_pending_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                   payment_method_id: str) -> str:
        """Swap items of a pending order for other options of their products. The difference is not rounded:
        the entry appended is a ``payment`` of it when positive, else a ``refund`` of ``abs`` of it (``0.0``
        when the prices are equal); a gift card is charged the difference (rounded balance)."""
        order, difference, error = self._swap_checked(order_id, PENDING, "Error: non-pending order cannot be modified",
                                                      item_ids, new_item_ids)
        if error:
            return error
        method, error = self._method_covering(order, payment_method_id, difference, "the new item")
        if error:
            return error
        order["payment_history"].append({
            "transaction_type": "payment" if difference > 0 else "refund",
            "amount": abs(difference),
            "payment_method_id": payment_method_id,
        })
        if method["source"] == "gift_card":
            method["balance"] = round(method["balance"] - difference, 2)
        products = self.db["products"]
        for item_id, new_item_id in zip(item_ids, new_item_ids):
            item = _first_item(order, item_id)  # a line already swapped no longer matches (unless unchanged)
            item["item_id"] = new_item_id
            item["price"] = products[item["product_id"]]["variants"][new_item_id]["price"]
            item["options"] = products[item["product_id"]]["variants"][new_item_id]["options"]
        order["status"] = "pending (item modified)"
        return json.dumps(order)

    # -- delivered orders ----------------------------------------------------------------------------

    def return_delivered_order_items(self, order_id: str, item_ids: list[str], payment_method_id: str) -> str:
        """Ask for the return of items of a delivered order, refunded to the order's first payment method or
        to any method whose id holds ``gift_card``; nothing is refunded yet."""
        order, error = self._order_in(order_id, DELIVERED, "Error: non-delivered order cannot be returned")
        if error:
            return error
        if payment_method_id not in self._profile_methods(order):
            return "Error: payment method not found"
        if "gift_card" not in payment_method_id and payment_method_id != order["payment_history"][0][
                "payment_method_id"]:
            return "Error: payment method should be either the original payment method or a gift card"
        if _unheld_items(order, item_ids):
            return "Error: some item not found"
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return json.dumps(order)

    def exchange_delivered_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                       payment_method_id: str) -> str:
        """Ask for the exchange of items of a delivered order; the price difference (rounded to cents) is
        stored, not charged."""
        order, difference, error = self._swap_checked(order_id, DELIVERED,
                                                      "Error: non-delivered order cannot be exchanged",
                                                      item_ids, new_item_ids)
        if error:
            return error
        difference = round(difference, 2)
        _, error = self._method_covering(order, payment_method_id, difference, "the price difference")
        if error:
            return error
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = difference
        return json.dumps(order)
