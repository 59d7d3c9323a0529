"""τ-bench retail as published (``tau-retail``): the upstream tools' answers and database effects exactly.

The 16 tools of ``tools/retail.json`` (upstream's ``ALL_TOOLS``; upstream's unregistered ``modify_user_email``
is not one), each answering as sierra-research/tau-bench's does: its checks in its order and no others, its
error texts, ``json.dumps`` with its defaults (non-ASCII as ``\\uXXXX``, the record's own key order), amounts
as upstream computes them. The user tools are here, the order tools in
:mod:`ugst_dspy.envs.tau_published_retail_orders`, ``calculate``, ``think`` and ``transfer_to_human_agents``
in :mod:`ugst_dspy.envs.tau_published_tools`; the dispatch is upstream's step
(:class:`ugst_dspy.envs.tau_published.PublishedTauEnvironment`). Where this differs from ``tau-retail-strict``
is listed in docs/tau_bench.md.
"""

from __future__ import annotations

import json
from typing import Any

from ugst_dspy.envs.tau_published import PublishedTauEnvironment, upstream_class
from ugst_dspy.envs.tau_published_retail_orders import RetailOrderTools
from ugst_dspy.envs.unavailable import RETAIL_UNAVAILABLE

#: upstream's ``tau_bench.envs.retail.tools.<tool>`` modules, named in one of Python's call errors
UPSTREAM_MODULE = "tau_bench.envs.retail.tools"


class PublishedRetailEnv(RetailOrderTools, PublishedTauEnvironment):
    """The retail store as upstream τ-bench runs it."""

    name = "tau-retail"
    domain = "retail"
    unavailable_services = RETAIL_UNAVAILABLE

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> str:
        """Upstream's step (see :class:`PublishedTauEnvironment`), and what the shared dispatch leaves out: an
        argument named ``data`` collides with the database upstream passes under that name."""
        if name in self.functions and "data" in (arguments or {}):
            self.calls.append({"name": name, "arguments": dict(arguments or {})})
            result = (f"Error: {UPSTREAM_MODULE}.{name}.{upstream_class(name)}.invoke() got multiple values for "
                      "keyword argument 'data'")
        else:
            result = super().call(name, arguments)
        if name in self.terminal_tools and name in self.functions:
            self.done = True
        return result

    # -- look-ups ------------------------------------------------------------------------------------

    def find_user_id_by_email(self, email: str) -> str:
        """The first user whose e-mail equals ``email`` with case ignored (``str.lower``, no trimming)."""
        for user_id, user in self.db["users"].items():
            if user["email"].lower() == email.lower():
                return user_id
        return "Error: user not found"

    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        """The first user with this first and last name (case ignored) and exactly this default-address zip."""
        for user_id, user in self.db["users"].items():
            if (
                user["name"]["first_name"].lower() == first_name.lower()
                and user["name"]["last_name"].lower() == last_name.lower()
                and user["address"]["zip"] == zip
            ):
                return user_id
        return "Error: user not found"

    def get_order_details(self, order_id: str) -> str:
        orders = self.db["orders"]
        return json.dumps(orders[order_id]) if order_id in orders else "Error: order not found"

    def get_product_details(self, product_id: str) -> str:
        products = self.db["products"]
        return json.dumps(products[product_id]) if product_id in products else "Error: product not found"

    def get_user_details(self, user_id: str) -> str:
        users = self.db["users"]
        return json.dumps(users[user_id]) if user_id in users else "Error: user not found"

    def list_all_product_types(self) -> str:
        """``{product name: product id}``, sorted by name (a repeated name keeps its last product id)."""
        by_name = {product["name"]: product["product_id"] for product in self.db["products"].values()}
        return json.dumps(dict(sorted(by_name.items())))

    # -- users ---------------------------------------------------------------------------------------

    def modify_user_address(
        self, user_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str
    ) -> str:
        """Replace a user's default address (nothing about the values is checked)."""
        users = self.db["users"]
        if user_id not in users:
            return "Error: user not found"
        user = users[user_id]
        user["address"] = {
            "address1": address1, "address2": address2, "city": city, "state": state, "country": country, "zip": zip,
        }
        return json.dumps(user)
