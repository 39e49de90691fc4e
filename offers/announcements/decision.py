"""Is a post announcing an award sale, and if not, why not.

A post is one when it says so (a sale cue of its language: "award sale", "Promo Rewards",
"特典航空券 割引", "promoção de resgate") or states a miles price, and it is none of the
lookalikes points blogs publish every day: upgrades, earning and transfer bonuses, status
matches, reminders of past promotions, bought miles, credit cards, cash fares, guides.
"""

from __future__ import annotations

from offers.announcements.vocabulary import Vocabulary

#: What a negative found in the title says, in the order they are checked.
_TITLE_NEGATIVES = {
    "reminder": "a past or expiring promotion",
    "upgrade": "an upgrade offer",
    "transfer_bonus": "a transfer bonus",
    "status_match": "a status match",
    "earn": "an earning bonus",
    "buy_miles": "buy miles bonus",
    "credit_card": "credit card offer",
}


def decide(
    title: str, body: str, vocab: Vocabulary, miles_priced: bool, discount: float | None
) -> str:
    """Empty when the post announces an award sale, else why it does not."""
    whole = f"{title}\n{body}"
    negative = vocab.negatives
    title_cue = bool(vocab.sale.search(title))
    strong = title_cue or bool(vocab.sale.search(whole))
    for kind, reason in _TITLE_NEGATIVES.items():
        if negative[kind].search(title) and not (title_cue and kind not in ("reminder",)):
            if kind == "credit_card" and strong:
                continue
            return reason
    if strong:
        return ""
    if miles_priced and not (
        negative["buy_miles"].search(body) or negative["credit_card"].search(body)
    ):
        if negative["guide"].search(title) and not vocab.time_limited.search(whole):
            return "general guide"
        return ""
    blockers = ("buy_miles", "cash_fare", "upgrade", "earn", "transfer_bonus")
    if (
        discount
        and vocab.award.search(whole)
        and not any(negative[k].search(whole) for k in blockers)
    ):
        return ""
    for kind, reason in (("buy_miles", "buy miles bonus"), ("credit_card", "credit card offer"),
                         ("cash_fare", "cash fare sale")):  # fmt: skip
        if negative[kind].search(whole):
            return reason
    if negative["guide"].search(title):
        return "general guide"
    return "no miles price or award discount"
