"""What ``pazar demo`` needs from Hepsiburada: sandbox faults, a channel config, a mapping.

The demo creates its products through Product Create (the sandbox lists each one
once its import is matched), so nothing is pre-listed.  A few SKUs get a price
band their demo price falls outside, so the demo also shows Hepsiburada's
per-row rejections turning into penalties; the sample mapping leaves one local
category unmapped and some T-shirts without a size, so it shows mapping
penalties too.  Twelve paid orders wait in the sandbox, four of them not packaged yet, so
the demo shows Automatic Packing and the order import as well; then the order story
(``demo_story``): a customer cancels an order and two return a line each (one with a
photo), while the demo plays the seller (invoices, ships, cancels a line, decides the
refunds, splits a package) through the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Every few SKUs gets a price band its price falls outside: rejected as OutOfPriceRange.
REJECT_EVERY = 97
# Paid orders waiting in the sandbox: the first ones already packaged by Hepsiburada, the
# rest packaged by the channel's Automatic Packing before get_orders reads them.
DEMO_ORDERS, PACKAGED_ORDERS = 12, 8

# The demo catalog's local categories (pazar.demo.CATEGORIES) onto the sandbox's tree.
DEMO_MAPPING = """\
# pazar demo: the sample catalog mapped onto the Hepsiburada sandbox's categories.
version: 1
defaults:
  merchantSku: "{{ product.sku }}"
  Barcode: "{{ product.attributes.barcode }}"
  UrunAdi: "{{ product.name }}"
  UrunAciklamasi: "{{ product.attributes.description }}"
  Marka: "{{ product.attributes.brand }}"
  GarantiSuresi: 24
  kg: 1
  tax_vat_rate: "{{ product.tax_rate | int }}"
categories:
  - category: 60001001
    title: Tişört
    match: {local_category: "Giyim/Kadın/Tişört"}
    attributes:
      Renk: {value: "{{ product.attributes.color }}", values: colours}
      Beden: "{{ product.attributes.size }}"
      Materyal: {default: Pamuk}
  - category: 60001003
    title: Sweatshirt
    match: {local_category: "Giyim/Erkek/*"}
    attributes:
      Renk: {value: "{{ product.attributes.color }}", values: colours}
      Beden: "{{ product.attributes.size }}"
  - category: 60003001
    title: Kupa
    match: {local_category: "Ev/Mutfak/Kupa"}
    attributes:
      Renk: {value: "{{ product.attributes.color }}", values: colours}
      Hacim: "{{ product.attributes.volume }}"
# Elektronik/Kulaklık is deliberately not mapped: those products are penalised (mapping).
value_maps:
  colours:
    Kırmızı: Kırmızı
    Navy: Lacivert
    Black: Siyah
"""


def demo_setup(app: Any, url: str, skus: Sequence[str]) -> Mapping[str, Any]:
    sandbox = app.state.sandbox
    sandbox.kit.set_faults(
        {
            "price_bands": {
                sku: {"min": 1, "max": 2} for sku in skus[REJECT_EVERY - 1 :: REJECT_EVERY]
            }
        }
    )
    orders = [
        {
            "orderNumber": f"{5_100_000 + n}",
            "customer": {"id": f"c{n}", "name": "Deniz Kaya", "email": f"deniz{n}@example.com"},
            "shippingAddress": {
                "name": "Deniz Kaya",
                "address": "Moda Cd. 1",
                "city": "İSTANBUL",
                "town": "KADIKÖY",
            },
            "lines": [
                {
                    "merchantSku": skus[(n * 3 + k) % len(skus)],
                    "quantity": 1 + n % 2,
                    "price": 199.9,
                }
                for k in range(1 + n % 3)
            ],
            "packaged": n < PACKAGED_ORDERS,
        }
        for n in range(DEMO_ORDERS)
    ]
    sandbox.oms.add_orders(orders, lambda sku: f"HBV{sku}")
    flags = (
        "product_create",
        "product_update",
        "delete_product",
        "stock",
        "price",
        "get_orders",
        "get_cancel_orders",
        "send_update_orders",
        "send_invoice_link",
        "get_refund_orders",
        "approve_refund",
        "reject_refund",
        "send_cancel_order_items",
        "split_packages",
    )
    return {
        **sandbox.channel_config(url),
        "category_ids": [2147, 3000],
        # The demo catalog's reasons (pazar.demo): 1 cancelled on the marketplace, 3 refund.
        "default_reason_id": 3,
        "cancellation_reason_id": 1,
        "send_cancellation_reason_id": 83,
        "send_shipping_info": True,
        "shipping_provider": {
            "hepsijet": {
                "tracking_url": "https://www.hepsijet.com/gonderi-takibi/{tracking_number}"
            }
        },
        "cargo_company_mapping": {"default": 1},
        "buffer_stock": 2,
        "product_shipping_info_extra_data": {"claimAddressLabel": "IKINCIL"},
        "order_number_format": "HB-{orderNumber}",
        "automatic_packing": True,
        "feature_flags": dict.fromkeys(flags, True),
    }


def demo_mapping() -> str:
    return DEMO_MAPPING


def demo_story(app: Any, act: str, orders: Mapping[str, Any]) -> Mapping[str, Any]:
    """The customers' side of the demo's order story, in the sandbox (see the module)."""
    if act != "customer":
        return {}
    sandbox = app.state.sandbox
    done: dict[str, Any] = {"claims": {}}
    with sandbox.lock:
        lines = list(sandbox.oms.lines.values())
        first = {}
        for line in lines:
            first.setdefault(line["orderNumber"], line)
        if orders.get("cancel"):
            sandbox.oms.cancel([{"lineItemId": first[str(orders["cancel"])]["id"]}])
            done["cancelled"] = str(orders["cancel"])
        for n, number in enumerate(orders.get("claims") or []):
            claim = sandbox.claims.open(
                {
                    "lineItemId": first[str(number)]["id"],
                    "reason": "PoorQuality" if n == 0 else "Other",
                    "explanation": "not as pictured",
                    "photos": [f"https://img.example.com/claims/{number}.jpg"],
                }
            )
            done["claims"][str(number)] = claim["number"]
    return done
