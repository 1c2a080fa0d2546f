def test_absent_optional_funding_prices_become_null_not_nan() -> None:
    import pandas as pd

    from traider.marketdata.records import Stream
    from traider.marketdata.validation import validate

    frame = pd.DataFrame({"venue": ["binance"], "symbol": ["XRP/USDT:USDT"], "ts": [pd.Timestamp("2021-11-18", tz="UTC")],
                          "rate": [0.0001], "mark_price": [1.1], "index_price": [None]})  # fmt: skip
    valid = validate(Stream.FUNDING_RATES, frame, source="test").valid
    assert valid["index_price"].tolist() == [None]
    assert valid["mark_price"].tolist() == [1.1]
