"""What ``pazar demo`` needs from Fashfed: a channel config, a sample mapping, Preparing
packages in the sandbox, and its customers in the order story.

Fashfed is a fashion marketplace: the sample mapping places the demo catalog's T-shirts and
sweatshirts in the sandbox's Kadın and Erkek trees and leaves mugs and headphones unmapped,
so the demo shows mapping penalties (and, for the products never created, Fashfed's own
"Product not found" rejections of their stocks and prices).  Ten packages wait in status
Preparing; in the order story a customer cancels one and two return a line each, while the
demo plays the seller through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pazar_fashfed.sandbox_state import ERKEK, KADIN, uid

DEMO_PACKAGES = 10
# Every flag but Updated Orders (the brand ships in the demo) and the seed's second name of
# the split flag.
FLAGS = ("product", "delete_product", "stock", "price", "get_orders", "get_cancel_orders")
FLAGS += ("send_update_orders", "get_refund_orders", "send_refund_order_status")
FLAGS += ("send_cancel_order_items", "split_packages")

DEMO_MAPPING = f"""\
# pazar demo: the sample catalog mapped onto the Fashfed sandbox's categories.
version: 1
defaults:
  name: "{{{{ product.name }}}}"
  base_code: "{{{{ product.base_code or product.sku }}}}"
  description: "{{{{ product.attributes.description }}}}"
categories:
  - category: {uid("kadin", "tisort")}
    title: Kadın > Giyim > Tişört
    match: {{local_category: "Giyim/Kadın/Tişört"}}
    attributes:
      Renk: {{value: "{{{{ product.attributes.color }}}}", values: colours}}
      Beden: "{{{{ product.attributes.size }}}}"
      Materyal: {{default: Pamuk}}
  - category: {uid("erkek", "tisort")}
    title: Erkek > Tişört
    match: {{local_category: "Giyim/Erkek/*"}}
    attributes:
      Renk: {{value: "{{{{ product.attributes.color }}}}", values: colours}}
      Beden: "{{{{ product.attributes.size }}}}"
# Ev/Mutfak/Kupa and Elektronik/Kulaklık are not fashion: not mapped, so penalised (mapping).
value_maps:
  colours:
    Navy: Lacivert
"""


def demo_setup(app: Any, url: str, skus: Sequence[str]) -> Mapping[str, Any]:
    """Seed the sandbox's packages and return a channel config pointed at it."""
    state = app.state.sandbox
    place = {"city": "İstanbul", "township": "Kadıköy", "line": "Moda Cd. 1"}
    state.add_packages(
        [
            {
                "number": f"{3_100_000_000 + n}",
                "order_number": f"FF{700_000 + n}",
                "shipping_address": {"first_name": "Deniz", "last_name": "Kaya", **place},
                "billing_address": {"first_name": "Deniz", "last_name": "Kaya", **place},
                "items": [
                    {"sku": skus[(n * 5 + k) % len(skus)], "quantity": 1, "price": "249.90"}
                    for k in range(1 + n % 3)
                ],
            }
            for n in range(DEMO_PACKAGES)
        ]
    )
    return {
        **state.info(url)["config"],
        "category_ids": [{"id": KADIN, "name": "Kadın"}, {"id": ERKEK, "name": "Erkek"}],
        # The demo catalog's reasons (pazar.demo): 1 cancelled on the marketplace, 2 out of
        # stock (the seller's), 3 refund.
        "cancellation_reason_id": 1,
        "send_cancel_reason_id": 2,
        "default_reason_id": 3,
        "reject_item_reason": "Damaged",
        "cargo_company_mapping": {"default": 1},
        # The brand ships (the story's seller ships): Order Update sends tracking, and
        # Updated Orders, which reads Fashfed's own shipping, stays off.
        "send_shipping_info": True,
        "waybill_option": {"enabled": True, "default": "999"},
        "buffer_stock": 1,
        "order_number_format": "FD-{orderNumber}-{id}",
        "feature_flags": dict.fromkeys(FLAGS, True),
    }


def demo_mapping() -> str:
    return DEMO_MAPPING


def demo_story(app: Any, act: str, orders: Mapping[str, Any]) -> Mapping[str, Any]:
    """The customers' side of the order story: a cancellation completed on Fashfed and
    refund claims opened, each on the first item of the package named."""
    if act != "customer":
        return {}
    state = app.state.sandbox
    done: dict[str, Any] = {"claims": {}}
    with state.lock:
        if orders.get("cancel"):
            number = str(orders["cancel"])
            for item in state.packages[number]["items"]:
                state.add_claims([{"package_item": item["id"]}])
            done["cancelled"] = number
        for n, number in enumerate(orders.get("claims") or []):
            first = state.packages[str(number)]["items"][0]["id"]
            [claim] = state.add_claims(
                [
                    {
                        "package_item": first,
                        "type": "refund",
                        "status": "open" if n == 0 else "waiting",
                        "reason": {"id": uid("reason", "size"), "subject": "Wrong size"},
                        "detail": "too small",
                    }
                ]
            )["added"]
            done["claims"][str(number)] = claim
    return done
