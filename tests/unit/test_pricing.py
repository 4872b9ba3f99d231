"""Cost of an answer: token prices (override, Baseten's list, dated table) and GPU time."""

from __future__ import annotations

import pytest

from chatapp.services import pricing
from chatapp.services.chat import ReplyMetrics
from chatapp.services.pricing import GpuPrice, PriceSettings, TokenPrice


def test_a_model_api_answer_costs_its_input_and_output_tokens_at_the_table_price():
    price = pricing.price_for(
        "deepseek-ai/DeepSeek-V3.1", dedicated=False, catalog_pricing=None, settings=PriceSettings()
    )
    assert price == TokenPrice(0.50, 1.50) and "may be out of date" in price.label
    cost = pricing.answer_cost(price, ReplyMetrics(0.1, 1.0, 2_000, 1_000, 50.0, "stop"))
    assert cost.total == pytest.approx(2_000 * 0.5e-6 + 1_000 * 1.5e-6)


def test_cached_input_tokens_are_billed_at_the_cached_rate_and_the_saving_shown():
    price = TokenPrice(input=1.0, output=2.0, cached_input=0.25)
    cost = pricing.token_cost(price, tokens_in=1_000, tokens_out=0, cached_tokens=800)
    assert cost.total == pytest.approx((200 * 1.0 + 800 * 0.25) / 1e6)
    assert cost.saving == pytest.approx(800 * 0.75 / 1e6)
    assert cost.cached_share == pytest.approx(0.8)
    assert pricing.describe(cost) == "$0.0004000 · 80% of input cached, saved $0.0006000"


def test_without_a_cached_rate_cached_tokens_cost_the_full_input_price_and_save_nothing():
    cost = pricing.token_cost(TokenPrice(1.0, 2.0), 1_000, 0, cached_tokens=800)
    assert cost.total == pytest.approx(1_000 / 1e6) and cost.saving == 0


def test_pricing_from_the_model_list_wins_over_the_table_and_per_token_values_are_scaled():
    per_million = pricing.price_for(
        "deepseek-ai/DeepSeek-V3.1",
        dedicated=False,
        catalog_pricing={"prompt": "0.4", "completion": 1.2, "input_cache_read": 0.1},
        settings=PriceSettings(),
    )
    assert per_million == TokenPrice(0.4, 1.2, 0.1, "Baseten's model list")
    per_token = pricing.from_catalog({"prompt": 4e-7, "completion": 1.2e-6})
    assert per_token.input == pytest.approx(0.4) and per_token.output == pytest.approx(1.2)
    assert pricing.from_catalog({"prompt": "free"}) is None


def test_a_price_the_person_entered_wins_over_every_other_source():
    mine = TokenPrice(9.0, 9.0, 1.0, "yours")
    settings = PriceSettings(token_prices={"zai-org/GLM-4.6": mine})
    price = pricing.price_for(
        "zai-org/GLM-4.6",
        dedicated=False,
        catalog_pricing={"prompt": 0.6, "completion": 2.2},
        settings=settings,
    )
    assert price is mine and "your price" in price.label


def test_a_dedicated_answer_costs_its_gpu_hour_price_spread_over_its_measured_time():
    settings = PriceSettings(gpu_hour={"abcd1234": 6.5})
    price = pricing.price_for("abcd1234", dedicated=True, catalog_pricing=None, settings=settings)
    assert price == GpuPrice(6.5)
    cost = pricing.answer_cost(price, {"total_s": 36.0, "tokens_in": 10, "tokens_out": 99})
    assert cost.total == pytest.approx(6.5 / 100)
    assert pricing.gpu_time_cost(price, 36.0, shared_by=4).total == pytest.approx(6.5 / 400)


def test_a_dedicated_target_without_a_gpu_price_and_an_unknown_slug_have_no_cost():
    assert (
        pricing.price_for(
            "abcd1234", dedicated=True, catalog_pricing=None, settings=PriceSettings()
        )
        is None
    )
    assert (
        pricing.price_for(
            "someone/new-model", dedicated=False, catalog_pricing=None, settings=PriceSettings()
        )
        is None
    )
    assert pricing.describe(None).startswith("cost unknown")


def test_a_conversation_total_adds_the_known_answers_and_skips_unknown_ones():
    price = TokenPrice(1.0, 1.0, 0.5)
    costs = [pricing.token_cost(price, 100, 100, 0), None, pricing.token_cost(price, 300, 100, 200)]
    summed = pricing.total(costs)
    assert summed.answers == 2 and summed.tokens_in == 400 and summed.cached_tokens == 200
    assert summed.total == pytest.approx((200 + 100 + 200 * 0.5 + 100) / 1e6)
    assert pricing.total([None]) is None


def test_reply_metrics_carry_cached_tokens_through_storage():
    metrics = ReplyMetrics(0.1, 1.0, 20, 5, 5.0, "stop", cached_tokens=12)
    assert ReplyMetrics.from_dict(metrics.to_dict()).cached_tokens == 12
    assert ReplyMetrics.from_dict({"total_s": 1.0}).cached_tokens is None
