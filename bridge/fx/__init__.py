"""Payment-versus-payment across currencies: the rate table (rates.py), pricing a payment into
its two legs (exchange.py), and settling both legs or neither (settlement.py, `settle_pvp`)."""
