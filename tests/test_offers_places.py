"""Places from maintained data: airports, cities, countries and regions."""

from __future__ import annotations

import pytest

from offers.places import UnknownPlace, region_of, resolve


@pytest.mark.parametrize(
    ("written", "kind", "country"),
    [("JFK", "airport", "US"), ("New York", "city", "US"), ("FR", "country", "FR"),
     ("Japan", "country", "JP"), ("UK", "country", "GB"), ("Europe", "region", "DE"),
     ("Caribbean", "region", "JM"), ("Middle East", "region", "AE"), ("country:USA", "country", "US")],
)  # fmt: skip
def test_resolve(written: str, kind: str, country: str) -> None:
    place = resolve(written)
    assert place.kind == kind and country in place.countries


def test_overlap() -> None:
    assert resolve("CDG").overlaps(resolve("Europe"))
    assert resolve("JFK").overlaps(resolve("New York"))
    assert not resolve("NRT").overlaps(resolve("Europe"))
    assert not resolve("LGA").overlaps(resolve("Paris"))


def test_region_of() -> None:
    assert (region_of("LHR"), region_of("HNL"), region_of("NRT")) == (
        "Europe",
        "North America",
        "Asia",
    )


def test_unknown_place_says_what_it_tried() -> None:
    with pytest.raises(UnknownPlace, match="not an IATA airport code, a city"):
        resolve("Atlantis")
