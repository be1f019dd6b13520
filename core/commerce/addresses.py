"""A marketplace's place names (city, township, district) as the backend's address ids.

Names are matched folded (case and Turkish letters: ``İSTANBUL``/``KADIKÖY`` are
``İstanbul``/``Kadıköy``), first through the operator's address mappings (per channel
when the seed's "Use Channel Id In Address Mapping" is on, then shared), then by the
local names.  A place that matches nothing is the seed's "Address is not valid. channel:
… code: … model: Township city id: …, city name: …": the order cannot be created until
the place is imported or mapped.  Lookups are cached per batch: one query per level and
distinct parent, never one per order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.models.commerce import AddressMapping, City, District, Township
from pazar.suggest import fold


def _key(name: str) -> str:
    return " ".join(fold(str(name)).split())


class AddressBook:
    """Resolves places for one channel; keep one per batch."""

    def __init__(self, session: Session, channel: Any) -> None:
        self.session = session
        self.channel_id = int(channel.id)
        self.per_channel = bool((channel.config or {}).get("use_channel_id_in_address_mapping"))
        self._mapped: dict[str, dict[tuple[int | None, str], int]] = {}
        self._cities: dict[str, int] | None = None
        self._towns: dict[int, dict[str, int]] = {}
        self._districts: dict[int, dict[str, int]] = {}

    def _mapping(self, level: str, code: str) -> int | None:
        if level not in self._mapped:
            rows = self.session.execute(
                select(
                    AddressMapping.channel_id, AddressMapping.remote_code, AddressMapping.local_id
                ).where(
                    AddressMapping.level == level,
                    (AddressMapping.channel_id == self.channel_id)
                    | AddressMapping.channel_id.is_(None),
                )
            )
            self._mapped[level] = {(c, _key(code)): i for c, code, i in rows}
        table = self._mapped[level]
        key = _key(code)
        if self.per_channel and (self.channel_id, key) in table:
            return table[(self.channel_id, key)]
        return table.get((None, key))

    def _city(self, name: str) -> int | None:
        if self._cities is None:
            self._cities = {_key(n): i for i, n in self.session.execute(select(City.id, City.name))}
        return self._mapping("city", name) or self._cities.get(_key(name))

    def _town(self, city_id: int, name: str) -> int | None:
        if city_id not in self._towns:
            self._towns[city_id] = {
                _key(n): i
                for i, n in self.session.execute(
                    select(Township.id, Township.name).where(Township.city_id == city_id)
                )
            }
        return self._mapping("township", name) or self._towns[city_id].get(_key(name))

    def _district(self, town_id: int, name: str) -> int | None:
        if town_id not in self._districts:
            self._districts[town_id] = {
                _key(n): i
                for i, n in self.session.execute(
                    select(District.id, District.name).where(District.township_id == town_id)
                )
            }
        return self._mapping("district", name) or self._districts[town_id].get(_key(name))

    def _code(self, name: str) -> str:
        return f"{self.channel_id}_{name}" if self.per_channel else name

    def resolve(self, city: str, township: str, district: str | None) -> Mapping[str, Any]:
        """``{city_id, township_id, district_id}``, or ``{problem}`` naming the place that
        matches nothing (the seed's message).  Empty names are not looked up."""
        out: dict[str, Any] = {"city_id": None, "township_id": None, "district_id": None}
        if not city:
            return out
        out["city_id"] = self._city(city)
        if out["city_id"] is None:
            return {"problem": self.invalid(city, "City")}
        if not township:
            return out
        out["township_id"] = self._town(out["city_id"], township)
        if out["township_id"] is None:
            return {
                "problem": self.invalid(
                    township, "Township", f"city id: {out['city_id']}, city name: {city}"
                )
            }
        if district:
            out["district_id"] = self._district(out["township_id"], district)
            if out["district_id"] is None:
                return {
                    "problem": self.invalid(
                        district,
                        "District",
                        f"township id: {out['township_id']}, township name: {township}",
                    )
                }
        return out

    def invalid(self, name: str, model: str, parent: str = "") -> str:
        """The seed's section 8 message for a place that matches nothing."""
        message = f"Address is not valid. channel: {self.channel_id} code: {self._code(name)} model: {model}"
        hint = (
            " (import the place with pazar catalog import addresses, or map the "
            "marketplace's name to a local one)"
        )
        return f"{message} {parent}{hint}" if parent else message + hint
