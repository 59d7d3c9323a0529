"""τ-bench retail: users, orders and products of an online store, and the 16 tools of ``tools/retail.json``.

Order statuses: ``pending``, ``processed``, ``delivered``, ``cancelled`` in the data; the tools add
``pending (item modified)`` (after :meth:`RetailEnv.modify_pending_order_items`, which the policy allows
once and after which the order can be neither modified nor cancelled), ``return requested`` and
``exchange requested``. Money moves through the order's ``payment_history`` (``payment`` and ``refund``
transactions); a gift card's ``balance`` changes at once, other methods only get the transaction.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ugst_dspy.envs.tau_common import TauEnvironment, as_json, money
from ugst_dspy.envs.unavailable import RETAIL_UNAVAILABLE

PENDING = "pending"
ITEMS_MODIFIED = "pending (item modified)"
DELIVERED = "delivered"
CANCEL_REASONS = ("no longer needed", "ordered by mistake")
ADDRESS_FIELDS = ("address1", "address2", "city", "country", "state", "zip")


class RetailEnv(TauEnvironment):
    """The retail store: look-ups return records as JSON, writes check the policy's preconditions."""

    name = "tau-retail-strict"
    domain = "retail"
    unavailable_services = RETAIL_UNAVAILABLE

    # -- look-ups ------------------------------------------------------------------------------------

    def find_user_id_by_email(self, email: str) -> str:
        """The user id whose email matches (case and surrounding spaces ignored)."""
        wanted = email.strip().lower()
        for user_id, user in self.db["users"].items():
            if user["email"].lower() == wanted:
                return user_id
        return "Error: user not found"

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """The user id with this first and last name (case ignored) and default-address zip code."""
        wanted = (first_name.strip().lower(), last_name.strip().lower(), zip.strip())
        for user_id, user in self.db["users"].items():
            name = user["name"]
            if (name["first_name"].lower(), name["last_name"].lower(), user["address"]["zip"]) == wanted:
                return user_id
        return "Error: user not found"

    def get_order_details(self, order_id: str) -> str:
        order = self.db["orders"].get(order_id)
        return as_json(order) if order is not None else "Error: order not found"

    def get_product_details(self, product_id: str) -> str:
        product = self.db["products"].get(product_id)
        return as_json(product) if product is not None else "Error: product not found"

    def get_user_details(self, user_id: str) -> str:
        user = self.db["users"].get(user_id)
        return as_json(user) if user is not None else "Error: user not found"

    def list_all_product_types(self) -> str:
        """``{product name: product id}`` for the 50 product types, by name."""
        products = sorted(self.db["products"].values(), key=lambda p: p["name"])
        return as_json({product["name"]: product["product_id"] for product in products})

    # -- writes --------------------------------------------------------------------------------------

    def cancel_pending_order(self, order_id: str, reason: str) -> str:
        """Cancel a pending order and refund what was paid (gift cards at once)."""
        order = self.db["orders"].get(order_id)
        if order is None:
            return "Error: order not found"
        if order["status"] != PENDING:
            return f"Error: only a pending order can be cancelled; order {order_id} is {order['status']!r}"
        if reason not in CANCEL_REASONS:
            return f"Error: the reason must be one of {', '.join(repr(r) for r in CANCEL_REASONS)}"
        for method_id, amount in _net_paid(order).items():
            self._refund(order, method_id, amount)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        return as_json(order)

    def modify_pending_order_address(
        self, order_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        """Change the shipping address of a pending order."""
        order, error = self._pending_order(order_id)
        if error:
            return error
        order["address"] = _address(address1, address2, city, state, country, zip)
        return as_json(order)

    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> str:
        """Pay a pending order with another of the user's methods; the old one is refunded."""
        order, error = self._pending_order(order_id)
        if error:
            return error
        paid = _net_paid(order)
        if len(paid) != 1:
            return f"Error: order {order_id} is not paid with a single payment method"
        (old_method, amount), = paid.items()
        method, error = self._payment_method(order["user_id"], payment_method_id)
        if error:
            return error
        if payment_method_id == old_method:
            return "Error: the new payment method must differ from the current one"
        if method["source"] == "gift_card" and method["balance"] < amount:
            return f"Error: gift card {payment_method_id} balance {method['balance']} does not cover {amount}"
        self._charge(order, payment_method_id, amount)
        self._refund(order, old_method, amount)
        return as_json(order)

    def modify_pending_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> str:
        """Swap items of a pending order for other options of the same products (once per order)."""
        order, error = self._pending_order(order_id)
        if error:
            return error
        pairs, difference, error = self._swaps(order, item_ids, new_item_ids, payment_method_id)
        if error:
            return error
        replaced: set[int] = set()
        for old_id, new in pairs:
            index = next(i for i, item in enumerate(order["items"]) if item["item_id"] == old_id and i not in replaced)
            replaced.add(index)
            order["items"][index].update(item_id=new["item_id"], price=new["price"], options=dict(new["options"]))
        if difference > 0:
            self._charge(order, payment_method_id, difference)
        elif difference < 0:
            self._refund(order, payment_method_id, -difference)
        order["status"] = ITEMS_MODIFIED
        return as_json(order)

    def return_delivered_order_items(self, order_id: str, item_ids: list[str], payment_method_id: str) -> str:
        """Request the return of items of a delivered order, refunded to the original method or a gift card."""
        order, error = self._delivered_order(order_id)
        if error:
            return error
        error = _missing_items(order, item_ids) if item_ids else "Error: no items given"
        if error:
            return error
        method, error = self._payment_method(order["user_id"], payment_method_id)
        if error:
            return error
        if payment_method_id not in _methods_used(order) and method["source"] != "gift_card":
            return "Error: the refund must go to the original payment method or an existing gift card"
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return as_json(order)

    def exchange_delivered_order_items(
        self, order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> str:
        """Request the exchange of items of a delivered order for other options of the same products."""
        order, error = self._delivered_order(order_id)
        if error:
            return error
        _, difference, error = self._swaps(order, item_ids, new_item_ids, payment_method_id)
        if error:
            return error
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = money(difference)
        return as_json(order)

    def modify_user_address(
        self, user_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        """Change a user's default address."""
        user = self.db["users"].get(user_id)
        if user is None:
            return "Error: user not found"
        user["address"] = _address(address1, address2, city, state, country, zip)
        return as_json(user)

    # -- preconditions -------------------------------------------------------------------------------

    def _pending_order(self, order_id: str) -> tuple[dict[str, Any], str | None]:
        order = self.db["orders"].get(order_id)
        if order is None:
            return {}, "Error: order not found"
        if order["status"] == ITEMS_MODIFIED:
            return {}, f"Error: the items of order {order_id} were already modified; it cannot be changed again"
        if order["status"] != PENDING:
            return {}, f"Error: only a pending order can be modified; order {order_id} is {order['status']!r}"
        return order, None

    def _delivered_order(self, order_id: str) -> tuple[dict[str, Any], str | None]:
        order = self.db["orders"].get(order_id)
        if order is None:
            return {}, "Error: order not found"
        if order["status"] != DELIVERED:
            status = order["status"]
            return {}, f"Error: only a delivered order can be returned or exchanged; order {order_id} is {status!r}"
        return order, None

    def _payment_method(self, user_id: str, payment_method_id: str) -> tuple[dict[str, Any], str | None]:
        user = self.db["users"].get(user_id)
        method = (user or {}).get("payment_methods", {}).get(payment_method_id)
        if method is None:
            return {}, f"Error: payment method {payment_method_id} is not in the profile of user {user_id}"
        return method, None

    def _swaps(
        self, order: dict[str, Any], item_ids: list[str], new_item_ids: list[str], payment_method_id: str
    ) -> tuple[list[tuple[str, dict[str, Any]]], float, str | None]:
        """Check an exchange or modification: ``([(old item id, new variant)], price difference, error)``."""
        if not item_ids:
            return [], 0.0, "Error: no items given"
        if len(item_ids) != len(new_item_ids):
            return [], 0.0, "Error: item_ids and new_item_ids must have the same length"
        error = _missing_items(order, item_ids)
        if error:
            return [], 0.0, error
        by_id = {item["item_id"]: item for item in order["items"]}
        pairs, difference = [], 0.0
        for old_id, new_id in zip(item_ids, new_item_ids):
            old = by_id[old_id]
            variant = self.db["products"][old["product_id"]]["variants"].get(new_id)
            if variant is None:
                product = f"{old['name']} ({old['product_id']})"
                return [], 0.0, f"Error: new item {new_id} is not an option of product {product}"
            if not variant["available"]:
                return [], 0.0, f"Error: new item {new_id} is not available"
            pairs.append((old_id, variant))
            difference += variant["price"] - old["price"]
        method, error = self._payment_method(order["user_id"], payment_method_id)
        if error:
            return [], 0.0, error
        difference = money(difference)
        if method["source"] == "gift_card" and difference > method["balance"]:
            balance = method["balance"]
            return [], 0.0, f"Error: gift card {payment_method_id} balance {balance} does not cover {difference}"
        return pairs, difference, None

    # -- money ---------------------------------------------------------------------------------------

    def _gift_card(self, order: dict[str, Any], method_id: str) -> dict[str, Any] | None:
        method = self.db["users"].get(order["user_id"], {}).get("payment_methods", {}).get(method_id)
        return method if method is not None and method["source"] == "gift_card" else None

    def _charge(self, order: dict[str, Any], method_id: str, amount: float) -> None:
        order["payment_history"].append(
            {"transaction_type": "payment", "amount": money(amount), "payment_method_id": method_id}
        )
        card = self._gift_card(order, method_id)
        if card is not None:
            card["balance"] = money(card["balance"] - amount)

    def _refund(self, order: dict[str, Any], method_id: str, amount: float) -> None:
        order["payment_history"].append(
            {"transaction_type": "refund", "amount": money(amount), "payment_method_id": method_id}
        )
        card = self._gift_card(order, method_id)
        if card is not None:
            card["balance"] = money(card["balance"] + amount)


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> dict[str, str]:
    return {"address1": address1, "address2": address2, "city": city, "country": country, "state": state, "zip": zip}


def _missing_items(order: dict[str, Any], item_ids: list[str]) -> str | None:
    """An error naming the first item (counting repeats) the order does not hold, else ``None``."""
    held = Counter(item["item_id"] for item in order["items"])
    for item_id, wanted in Counter(item_ids).items():
        if held[item_id] < wanted:
            return f"Error: item {item_id} is not in order {order['order_id']}" + (
                f" {wanted} times" if held[item_id] else ""
            )
    return None


def _methods_used(order: dict[str, Any]) -> list[str]:
    return [t["payment_method_id"] for t in order["payment_history"] if t["transaction_type"] == "payment"]


def _net_paid(order: dict[str, Any]) -> dict[str, int | float]:
    """What each payment method has paid net of refunds (positive amounts only), in first-use order."""
    net: dict[str, float] = {}
    for transaction in order["payment_history"]:
        sign = 1 if transaction["transaction_type"] == "payment" else -1
        method = transaction["payment_method_id"]
        net[method] = net.get(method, 0.0) + sign * transaction["amount"]
    return {method: money(amount) for method, amount in net.items() if money(amount) > 0}
