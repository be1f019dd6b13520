"""What ``pazar demo`` needs from Hepsiburada: sandbox faults, a channel config, a mapping.

The demo creates its products through Product Create (the sandbox lists each one
once its import is matched), so nothing is pre-listed.  A few SKUs get a price
band their demo price falls outside, so the demo also shows Hepsiburada's
per-row rejections turning into penalties; the sample mapping leaves one local
category unmapped and some T-shirts without a size, so it shows mapping
penalties too.  Twelve paid orders wait in the sandbox, four of them not packaged yet, so
the demo shows Automatic Packing and the order import as well.
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
            "shippingAddress": {"name": "Deniz Kaya", "address": "Moda Cd. 1", "city": "İstanbul"},
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
    flags = ("product_create", "product_update", "delete_product", "stock", "price", "get_orders")
    return {
        **sandbox.channel_config(url),
        "category_ids": [2147, 3000],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": 1},
        "buffer_stock": 2,
        "product_shipping_info_extra_data": {"claimAddressLabel": "IKINCIL"},
        "order_number_format": "HB-{orderNumber}",
        "automatic_packing": True,
        "feature_flags": dict.fromkeys(flags, True),
    }


def demo_mapping() -> str:
    return DEMO_MAPPING
