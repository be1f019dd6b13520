"""What ``pazar demo`` needs from Hepsiburada: a sandbox that knows the demo SKUs.

The demo catalog is already "listed" on the sandbox (as if the products had been
created earlier), so stock and price uploads are accepted; a few SKUs get a
price band their demo price falls outside, so the demo also shows Hepsiburada's
per-row rejections turning into penalties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Every few SKUs gets a price band its price falls outside: rejected as OutOfPriceRange.
REJECT_EVERY = 97


def demo_setup(app: Any, url: str, skus: Sequence[str]) -> Mapping[str, Any]:
    sandbox = app.state.sandbox
    sandbox.seed(
        {"listings": [{"merchantSku": sku, "price": 0, "availableStock": 0} for sku in skus]}
    )
    sandbox.set_faults(
        {
            "price_bands": {
                sku: {"min": 1, "max": 2} for sku in skus[REJECT_EVERY - 1 :: REJECT_EVERY]
            }
        }
    )
    return {
        **sandbox.channel_config(url),
        "category_ids": [60001001],
        "default_reason_id": 1,
        "cancellation_reason_id": 1,
        "cargo_company_mapping": {"default": 1},
        "feature_flags": {"stock": True, "price": True},
    }
