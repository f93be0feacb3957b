"""Money and tokens. Prices come from genai-prices (shipped with the package, no network);
a model it does not know has an unknown cost, never 0. Token estimates are offline: about
four characters a token, the rule of thumb for English under the common BPE tokenizers
(a tokenizer that downloads its tables at first use would not work offline)."""

from __future__ import annotations

import math
from dataclasses import dataclass

CHARS_PER_TOKEN = 4.0
ANSWER_TOKENS = 80  # a judge answer: a score and one to three sentences


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def price(provider: str | None, model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Dollars for one call, or None when the price is unknown."""
    if provider is None:
        return None
    from genai_prices import Usage, calc_price  # its price tables: only when pricing a call

    try:
        calculated = calc_price(
            Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            model_ref=model,
            provider_id=provider,
        )
    except LookupError:
        return None
    return float(calculated.total_price)


@dataclass(slots=True)
class Tally:
    """Running totals of model use. ``cost_usd`` turns None (unknown) as soon as one paid
    call has an unknown price, so a sum never hides a missing price."""

    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0

    def add(
        self,
        input_tokens: int | None,
        output_tokens: int | None,
        cost: float | None,
        *,
        cached: bool,
        attempts: int = 1,
    ) -> None:
        """Count one reply; ``attempts`` real calls were made for it (tries included)."""
        if cached:
            self.cache_hits += 1
            return  # already paid for
        self.calls += attempts
        self.input_tokens += input_tokens or 0
        self.output_tokens += output_tokens or 0
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost

    def failed(self, attempts: int) -> None:
        """Count the calls of a reply that never came; a failed call is not billed."""
        self.calls += attempts

    def merge(self, other: Tally) -> None:
        """Add another tally's totals (an unknown cost in either makes the sum unknown)."""
        self.calls += other.calls
        self.cache_hits += other.cache_hits
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        if self.cost_usd is None or other.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += other.cost_usd

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
        }


def format_cost(cost: float | None) -> str:
    if cost is None:
        return "unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"
