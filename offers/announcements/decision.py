"""Is a post announcing an award sale, and if not, why not.

A post is one when it says so (a sale cue of its language: "award sale", "Promo Rewards",
"特典航空券 割引", "promoção de resgate") or states a miles price, and it is none of the
lookalikes points blogs publish every day: upgrades, earning and transfer bonuses, status
matches, reminders of past promotions, bought miles, credit cards, cash fares, guides, terms.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from offers.announcements.vocabulary import Vocabulary

#: What a negative in the title says; a title about one of these is about that, sale words or not.
_TITLE_NEGATIVES = {
    "terms": "terms and conditions",
    "reminder": "a past or expiring promotion",
    "upgrade": "an upgrade offer",
    "transfer_bonus": "a transfer bonus",
    "status_match": "a status match",
    "buy_miles": "buy miles bonus",
    "earn": "an earning bonus",
}
#: What a post that is no sale is, when its words say it, in the order they are checked.
_LOOKALIKES = (
    ("buy_miles", "buy miles bonus"),
    ("transfer_bonus", "a transfer bonus"),
    ("earn", "an earning bonus"),
    ("credit_card", "credit card offer"),
    ("cash_fare", "cash fare sale"),
    ("upgrade", "an upgrade offer"),
)
#: Link paths of help and guide pages, which never announce a sale.
_GUIDE_PATH = re.compile(r"(?i)/(?:guides?|faqs?|help|ayuda|hilfe|aide|tutorial)(?:/|\.|$)")
#: The opening of a post: a page that begins by saying the offer ended is a reminder.
_HEAD = 160


def decide(
    title: str,
    body: str,
    vocab: Vocabulary,
    miles_priced: bool,
    discount: float | None,
    link: str | None = None,
) -> str:
    """Empty when the post announces an award sale, else why it does not."""
    whole = f"{title}\n{body}"
    negative = vocab.negatives
    title_cue = bool(vocab.sale.search(title))
    strong = title_cue or bool(vocab.sale.search(whole))
    for kind, reason in _TITLE_NEGATIVES.items():
        if negative[kind].search(title):
            return reason
    if negative["reminder"].search(body[:_HEAD]):
        return _TITLE_NEGATIVES["reminder"]
    if _GUIDE_PATH.search(urlparse(link or "").path):
        return "general guide"
    if negative["credit_card"].search(title) and not title_cue:
        return "credit card offer"
    if negative["guide"].search(title) and not title_cue:
        return "general guide"
    if strong:
        return ""
    if any(negative[k].search(body) for k in ("buy_miles", "earn", "transfer_bonus")):
        return _lookalike(body, vocab)
    if miles_priced and not negative["credit_card"].search(body):
        return ""
    if discount and vocab.award.search(whole) and not negative["cash_fare"].search(whole):
        return ""
    return _lookalike(whole, vocab)


def _lookalike(words: str, vocab: Vocabulary) -> str:
    negative = vocab.negatives
    for kind, reason in _LOOKALIKES:
        if negative[kind].search(words):
            return reason
    return "no miles price or award discount"
