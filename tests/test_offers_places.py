"""Places from maintained data: airports, metro codes, cities ranked by population, countries
and regions."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from offers.places import UnknownPlace, alternatives, ambiguity, region_of, resolve

#: written name -> (kind, one country it lies in, airports it must include or None for any).
TABLE: list[tuple[str, str, str, set[str] | None]] = [
    ("JFK", "airport", "US", {"JFK"}),
    ("LHR", "airport", "GB", {"LHR"}),
    ("airport:cdg", "airport", "FR", {"CDG"}),
    ("NYC", "metro", "US", {"JFK", "LGA", "EWR"}),
    ("LON", "metro", "GB", {"LHR", "LGW", "STN", "LCY", "LTN"}),
    ("PAR", "metro", "FR", {"CDG", "ORY"}),
    ("TYO", "metro", "JP", {"HND", "NRT"}),
    ("CHI", "metro", "US", {"ORD", "MDW"}),
    ("WAS", "metro", "US", {"IAD", "DCA"}),
    ("MIL", "metro", "IT", {"MXP", "LIN"}),
    ("ROM", "metro", "IT", {"FCO", "CIA"}),
    ("STO", "metro", "SE", {"ARN", "BMA"}),
    ("OSA", "metro", "JP", {"KIX", "ITM"}),
    ("SEL", "metro", "KR", {"ICN", "GMP"}),
    ("BJS", "metro", "CN", {"PEK", "PKX"}),
    ("SAO", "metro", "BR", {"GRU", "CGH"}),
    ("RIO", "metro", "BR", {"GIG", "SDU"}),
    ("BUE", "metro", "AR", {"EZE", "AEP"}),
    ("YTO", "metro", "CA", {"YYZ", "YTZ"}),
    ("YMQ", "metro", "CA", {"YUL"}),
    ("MOW", "metro", "RU", {"SVO", "DME", "VKO"}),
    ("JKT", "metro", "ID", {"CGK"}),
    ("metro:nyc", "metro", "US", {"JFK"}),
    ("Venice", "city", "IT", {"VCE"}),
    ("Florence", "city", "IT", {"FLR"}),
    ("Denpasar", "city", "ID", {"DPS"}),
    ("Bali", "region", "ID", {"DPS"}),
    ("Paris", "city", "FR", {"CDG", "ORY"}),
    ("Rome", "city", "IT", {"FCO"}),
    ("London", "city", "GB", {"LHR", "LGW"}),
    ("New York", "city", "US", {"JFK", "LGA", "EWR"}),
    ("Tokyo", "city", "JP", {"HND", "NRT"}),
    ("Montreal", "city", "CA", {"YUL"}),
    ("Montréal", "city", "CA", {"YUL"}),
    ("Sao Paulo", "city", "BR", {"GRU"}),
    ("St Petersburg", "city", "RU", {"LED"}),
    ("Saint Petersburg", "city", "RU", {"LED"}),
    ("Mexico City", "city", "MX", {"MEX"}),
    ("Kuwait City", "city", "KW", {"KWI"}),
    ("Washington", "city", "US", {"IAD", "DCA"}),
    ("Portland", "city", "US", {"PDX"}),
    ("Birmingham", "city", "GB", {"BHX"}),
    ("Sydney", "city", "AU", {"SYD"}),
    ("Melbourne", "city", "AU", {"MEL"}),
    ("Perth", "city", "AU", {"PER"}),
    ("Athens", "city", "GR", {"ATH"}),
    ("Dublin", "city", "IE", {"DUB"}),
    ("Naples", "city", "IT", {"NAP"}),
    ("Vienna", "city", "AT", {"VIE"}),
    ("Geneva", "city", "CH", {"GVA"}),
    ("Lima", "city", "PE", {"LIM"}),
    ("Kingston", "city", "JM", {"KIN"}),
    ("San Juan", "city", "PR", {"SJU"}),
    ("Honolulu", "city", "US", {"HNL"}),
    ("Cancun", "city", "MX", {"CUN"}),
    ("Dubai", "city", "AE", {"DXB"}),
    ("Doha", "city", "QA", {"DOH"}),
    ("Istanbul", "city", "TR", {"IST"}),
    ("Madrid", "city", "ES", {"MAD"}),
    ("Barcelona", "city", "ES", {"BCN"}),
    ("Lisbon", "city", "PT", {"LIS"}),
    ("Frankfurt", "city", "DE", {"FRA"}),
    ("Munich", "city", "DE", {"MUC"}),
    ("Zurich", "city", "CH", {"ZRH"}),
    ("Amsterdam", "city", "NL", {"AMS"}),
    ("Reykjavik", "city", "IS", {"KEF"}),
    ("Bangkok", "city", "TH", {"BKK"}),
    ("Seoul", "city", "KR", {"ICN"}),
    ("Osaka", "city", "JP", {"KIX"}),
    ("Mumbai", "city", "IN", {"BOM"}),
    ("Delhi", "city", "IN", {"DEL"}),
    ("Cape Town", "city", "ZA", {"CPT"}),
    ("Cairo", "city", "EG", {"CAI"}),
    ("Boston", "city", "US", {"BOS"}),
    ("Houston", "city", "US", {"IAH", "HOU"}),
    ("Los Angeles", "city", "US", {"LAX"}),
    ("San Francisco", "city", "US", {"SFO"}),
    ("Vancouver", "city", "CA", {"YVR"}),
    ("Buenos Aires", "city", "AR", {"EZE"}),
    ("Auckland", "city", "NZ", {"AKL"}),
    ("Venice, FL", "city", "US", {"VNC"}),
    ("city:Paris, TX", "city", "US", {"PRX"}),
    ("city:Rome, GA", "city", "US", {"RMG"}),
    ("Maui", "region", "US", {"OGG"}),
    ("Tahiti", "region", "PF", {"PPT"}),
    ("Hawaii", "region", "US", {"HNL", "OGG", "KOA", "LIH"}),
    ("Scandinavia", "region", "SE", None),
    ("Nordics", "region", "FI", None),
    ("Caribbean", "region", "JM", None),
    ("Southeast Asia", "region", "TH", None),
    ("Middle East", "region", "AE", None),
    ("Oceania", "region", "FJ", None),
    ("Latin America", "region", "BR", None),
    ("Western Europe", "region", "FR", None),
    ("Europe", "region", "DE", None),
    ("South America", "region", "AR", None),
    ("US", "country", "US", None),
    ("FR", "country", "FR", None),
    ("Japan", "country", "JP", None),
    ("UK", "country", "GB", None),
    ("country:USA", "country", "US", None),
    ("Singapore", "country", "SG", None),
]


@pytest.mark.parametrize(("written", "kind", "country", "airports"), TABLE)
def test_resolve(written: str, kind: str, country: str, airports: set[str] | None) -> None:
    place = resolve(written)
    assert (place.kind, country in place.countries) == (kind, True), place
    if airports is None:
        assert place.airports is None
    else:
        assert place.airports is not None and airports <= place.airports, place.airports


def test_the_table_is_large() -> None:
    assert len(TABLE) >= 80


@pytest.mark.parametrize(
    ("place", "region"),
    [("Paris", "US"), ("Rome", "US"), ("London", "CA"), ("Venice", "US"), ("Florence", "US"),
     ("LHR", "Scandinavia"), ("DUB", "Scandinavia"), ("HEL", "Scandinavia"), ("LAX", "Hawaii"),
     ("Bali", "CM"), ("Sydney", "CA"), ("JFK", "Europe")],
)  # fmt: skip
def test_unrelated_places_never_overlap(place: str, region: str) -> None:
    assert not resolve(place).overlaps(resolve(region))


@pytest.mark.parametrize(
    ("place", "region"),
    [("CDG", "Europe"), ("JFK", "New York"), ("EWR", "NYC"), ("ARN", "Scandinavia"),
     ("HEL", "Nordics"), ("HNL", "Hawaii"), ("HNL", "US"), ("DPS", "Bali"), ("VCE", "Venice"),
     ("FLR", "Florence"), ("Paris", "France"), ("SJU", "Caribbean"), ("Rome", "Western Europe"),
     ("BKK", "Southeast Asia"), ("DOH", "Middle East"), ("AKL", "Oceania"), ("LIM", "Latin America")],
)  # fmt: skip
def test_places_overlap_their_regions(place: str, region: str) -> None:
    assert resolve(place).overlaps(resolve(region))


def test_region_of() -> None:
    assert [region_of(p) for p in ("LHR", "HNL", "NRT", "Paris", "Rome", "London", "Venice")] == [
        "Europe", "North America", "Asia", "Europe", "Europe", "Europe", "Europe",
    ]  # fmt: skip
    assert region_of("Middle East") == "Middle East"
    assert region_of("Atlantis") is None


def test_a_shared_city_name_names_the_others() -> None:
    others = alternatives("Venice")
    assert any(o.startswith("Venice, FL, US") for o in others)
    warning = ambiguity("Paris")
    assert warning is not None
    assert "Paris, FR" in warning and "Paris, TX, US" in warning
    assert "city:" in warning and "airport:" in warning
    assert ambiguity("city:Paris, FR") is None and ambiguity("CDG") is None
    assert ambiguity("Tokyo") is None


def test_config_load_warns_about_shared_city_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from settings.config import load

    config = tmp_path / "config.toml"
    config.write_text(
        '[[rules]]\nname = "europe"\ndestinations = ["Venice", "CDG", "Scandinavia"]\n'
    )
    with caplog.at_level(logging.WARNING, logger="settings.config"):
        load(config, check_env=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "rules.europe.destinations" in warnings[0] and "Venice, FL, US" in warnings[0]


def test_unknown_place_says_what_it_tried() -> None:
    with pytest.raises(UnknownPlace, match="not an IATA airport code, a city"):
        resolve("Atlantis")


@pytest.mark.parametrize(
    ("destination", "region"),
    [("Rome", "Europe"), ("Paris", "Europe"), ("London", "Europe"), ("Venice", "Europe"),
     ("Bali", "Asia"), ("NYC", "North America"), ("Scandinavia", "Europe"), ("Atlantis", None)],
)  # fmt: skip
def test_every_offer_whose_place_is_known_has_its_region(destination: str, region: str) -> None:
    from offers.model import make_offer

    offer = make_offer({"source": "s", "program": "delta", "miles": 1, "destination": destination})
    assert offer.region == region
